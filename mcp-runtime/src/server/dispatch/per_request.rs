//! Dispatch of a per-request (2026-07-28) request: the checks, the methods of the revision,
//! and a session made for the one request.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::session::{Outbound, PendingReply, Reply, Session};
use crate::protocol::per_request::{CACHEABLE, HANDSHAKE_ONLY, RequestMeta, check_request, finish};
use crate::protocol::{
    ErrorObject, JsonObject, ProtocolVersion, RequestId, code, encode_error, encode_result,
};
use crate::server::ServerCore;
use crate::server::per_request::discover;
use crate::server::per_request::listen::listen;
use crate::server::per_request::rounds::{InputRound, WaitForInput, Waited, detach, stuck};
use crate::server::per_request::seal::open;
use crate::server::per_request::tasks::{self, TaskSupport};

/// What a per-request request runs with besides its session.
pub(crate) struct Retry {
    pub(crate) method: String,
    pub(crate) target: String,
}

impl Session {
    /// Serves a request of the per-request revision. `header_version` is HTTP's
    /// `MCP-Protocol-Version`, which must agree with `_meta`.
    pub(crate) fn handle_per_request(
        self: &Arc<Self>,
        id: RequestId,
        method: &str,
        params: Option<&RawValue>,
        out: &Outbound,
        header_version: Option<&str>,
    ) -> Reply {
        match self.serve_per_request(id.clone(), method, params, out, header_version) {
            Ok(reply) => reply,
            Err(e) => Reply::Now(encode_error(Some(&id), &e)),
        }
    }

    fn serve_per_request(
        self: &Arc<Self>,
        id: RequestId,
        method: &str,
        params: Option<&RawValue>,
        out: &Outbound,
        header_version: Option<&str>,
    ) -> Result<Reply, ErrorObject> {
        let meta = check_request(params, header_version)?;
        if HANDSHAKE_ONLY.contains(&method) {
            return Err(ErrorObject::new(
                code::METHOD_NOT_FOUND,
                format!("Method not found: `{method}` does not exist in revision 2026-07-28"),
            ));
        }
        let core = &self.core;
        match method {
            "server/discover" => {
                let bytes = encode_result(&id, &discover(core));
                return Ok(Reply::Now(finish(
                    bytes,
                    &core.info,
                    Some(core.per_request.lists),
                )));
            }
            "subscriptions/listen" => {
                return listen(core, id, params, out.clone(), &meta.capabilities);
            }
            "tasks/get" | "tasks/update" | "tasks/cancel" => {
                if !tasks::declared(&meta.capabilities) {
                    return Err(tasks::missing_extension(&format!("`{method}`")));
                }
                let result = core.tasks.serve(method, params)?;
                let bytes = encode_result(&id, &result);
                return Ok(Reply::Now(finish(bytes, &core.info, None)));
            }
            _ => {}
        }
        let retry = match method {
            "tools/call" | "prompts/get" | "resources/read" => Some(retry_of(method, params)?),
            _ => None,
        };
        let task_capable = match &retry {
            Some(r) if method == "tools/call" => {
                let support = core.tools.get(&r.target).map(|t| t.def.task);
                let declared = tasks::declared(&meta.capabilities);
                match support {
                    Some(TaskSupport::Required) if !declared => {
                        return Err(tasks::missing_extension(&format!(
                            "tool `{}` runs as a task only, so calling it",
                            r.target
                        )));
                    }
                    Some(TaskSupport::Optional | TaskSupport::Required) => declared,
                    _ => false,
                }
            }
            _ => false,
        };
        let answers = match &retry {
            Some(r) => self.answers(r, params)?,
            None => JsonObject::new(),
        };
        let hints = match method {
            "resources/read" => retry
                .as_ref()
                .and_then(|r| self.find_resource(&r.target))
                .and_then(|(entry, _)| core.per_request.resources.get(entry.def.uri).copied())
                .unwrap_or(core.per_request.lists),
            _ => core.per_request.lists,
        };
        let hints = CACHEABLE.contains(&method).then_some(hints);
        let session = Session::for_request(
            Arc::clone(core),
            out.clone(),
            self,
            &meta,
            InputRound::new(answers, task_capable),
        );
        Ok(match session.handle_request(id, method, params, out) {
            Reply::None => Reply::None,
            Reply::Now(bytes) => Reply::Now(finish(bytes, &core.info, hints)),
            Reply::Later(id, mut fut) => Reply::Later(
                id.clone(),
                Box::pin(async move {
                    let waited = WaitForInput {
                        fut: &mut fut,
                        session: &session,
                    }
                    .await;
                    let bytes = match waited {
                        Waited::Done(bytes) => bytes,
                        Waited::Stuck => stuck(&id, &session, retry.as_ref()),
                        Waited::Detach => detach(&id, &session, fut),
                    };
                    finish(bytes, &session.core.info, hints)
                }) as PendingReply,
            ),
        })
    }

    /// The answers of earlier rounds (from `requestState`) and of this one (`inputResponses`).
    fn answers(&self, retry: &Retry, params: Option<&RawValue>) -> Result<JsonObject, ErrorObject> {
        #[derive(Deserialize)]
        struct RetryParams {
            #[serde(rename = "inputResponses", default)]
            input_responses: Option<Value>,
            #[serde(rename = "requestState", default)]
            request_state: Option<String>,
        }
        let p: RetryParams = params
            .map(|p| serde_json::from_str(p.get()))
            .transpose()
            .map_err(|e| ErrorObject::invalid_params(format!("Invalid params: {e}")))?
            .unwrap_or(RetryParams {
                input_responses: None,
                request_state: None,
            });
        let config = &self.core.per_request;
        let mut answers = match &p.request_state {
            Some(state) => open(
                &config.state_key,
                config.state_max_age,
                state,
                &retry.method,
                &retry.target,
            )
            .map_err(ErrorObject::invalid_params)?,
            None => JsonObject::new(),
        };
        match p.input_responses {
            None | Some(Value::Null) => {}
            // Keys the handler does not ask for are ignored; a malformed answer to one it asks
            // for fails the request then.
            Some(Value::Object(given)) => answers.extend(given),
            Some(other) => {
                return Err(ErrorObject::invalid_params(format!(
                    "Invalid params: `inputResponses` must be an object of results by key, not {other}"
                )));
            }
        }
        Ok(answers)
    }

    /// The session of one per-request request.
    fn for_request(
        core: Arc<ServerCore>,
        out: Outbound,
        parent: &Arc<Session>,
        meta: &RequestMeta,
        round: InputRound,
    ) -> Arc<Session> {
        let session = Session::new_child(core, out, parent, round);
        session.set_peer(
            ProtocolVersion::PER_REQUEST,
            meta.info.clone().unwrap_or_default(),
            meta.capabilities.clone(),
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

pub(crate) fn retry_of(method: &str, params: Option<&RawValue>) -> Result<Retry, ErrorObject> {
    #[derive(Deserialize)]
    struct Target {
        name: Option<String>,
        uri: Option<String>,
    }
    let t: Target = params
        .map(|p| serde_json::from_str(p.get()))
        .transpose()
        .map_err(|e| ErrorObject::invalid_params(format!("Invalid params: {e}")))?
        .unwrap_or(Target {
            name: None,
            uri: None,
        });
    Ok(Retry {
        method: method.to_string(),
        target: t.name.or(t.uri).unwrap_or_default(),
    })
}
