//! The method table of the handshake revisions, and each method it answers.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

use super::session::{
    CatchUnwind, Empty, Outbound, Page, Peer, Reply, Session, panicked, panicked_msg,
    parse_optional_params, parse_params, run_handler,
};
use crate::middleware::{
    self, BoxFuture, Origin, PromptOutcome, PromptRequest, ResourceOutcome, ResourceRequest,
    ToolOutcome, ToolRequest, limits,
};
use crate::protocol::per_request::Envelope;
use crate::protocol::stamp::Wire;
use crate::protocol::{
    CallToolParams, CompleteParams, CompletionReference, Encoded, ErrorObject, GetPromptParams,
    InitializeParams, InitializeResult, ListParams, ProtocolVersion, RequestId, ResourceContents,
    ResourceParams, code,
};
use crate::server::HandlerFuture;
use crate::server::handlers::call::ToolCall;
use crate::server::handlers::call::ToolFuture;
use crate::server::handlers::completion::{Completion, CompletionContext, CompletionRequest};
use crate::server::handlers::prompt::{GetPromptResult, PromptGet};
use crate::server::handlers::resource::{ResourceErrorKind, ResourceRead};
use crate::server::per_request::rounds::InputRound;
use crate::server::registration::ResourceEntry;
use crate::server::uri_template::Bindings;

#[derive(Serialize)]
struct ReadResult {
    contents: Vec<ResourceContents>,
}

#[derive(Serialize)]
struct CompleteResult {
    completion: Completion,
}

/// The JSON-RPC error of a failed resource read.
fn resource_error(uri: &str, e: crate::server::ResourceError) -> ErrorObject {
    match e.kind {
        ResourceErrorKind::NotFound => not_found(uri, e.message),
        ResourceErrorKind::Invalid => ErrorObject::invalid_params(e.message),
        ResourceErrorKind::Internal => {
            tracing::warn!(uri, error = %e.message, "resource read failed");
            ErrorObject::internal(format!("reading `{uri}` failed: {}", e.message))
        }
    }
}

/// The protocol's "resource not found" error.
fn not_found(uri: &str, message: String) -> ErrorObject {
    ErrorObject::new(code::RESOURCE_NOT_FOUND, message).with_data(serde_json::json!({ "uri": uri }))
}

impl Session {
    /// Answers a request: through the server's middleware and policies when it has some,
    /// straight to [`Session::dispatch_request`] otherwise.
    pub(crate) fn handle_request(
        self: &Arc<Self>,
        id: RequestId,
        method: &str,
        params: Option<&RawValue>,
        out: &Outbound,
    ) -> Reply {
        if self.core.stack.is_idle() {
            return self.dispatch_request(id, method, params, out);
        }
        self.observed(id, method, params, out, None)
    }

    /// The method table.
    pub(crate) fn dispatch_request(
        self: &Arc<Self>,
        id: RequestId,
        method: &str,
        params: Option<&RawValue>,
        out: &Outbound,
    ) -> Reply {
        if self.round.is_none()
            && let Some(envelope) = Envelope::sniff(params)
        {
            return self.handle_per_request(id, method, params, envelope, out, None);
        }
        let wire = self.wire().clone();
        let result = match method {
            "initialize" => self.initialize(params).map(|r| wire.result(&id, &r)),
            "ping" => Ok(wire.result(&id, &Empty {})),
            _ if self.peer.get().is_none() => Err(ErrorObject::new(
                code::INVALID_REQUEST,
                format!(
                    "received `{method}` before `initialize`: the client must send `initialize` first"
                ),
            )),
            "tools/list" => self.list_tools(params).map(|r| Encoded::result(&id, &r)),
            "tools/call" => return self.call_tool(id, params, out),
            "resources/list" => self
                .list_resources(params)
                .map(|r| Encoded::result(&id, &r)),
            "resources/templates/list" => self
                .list_resource_templates(params)
                .map(|r| Encoded::result(&id, &r)),
            "resources/read" => return self.read_resource(id, params, out),
            "resources/subscribe" => self
                .subscribe(params, true)
                .map(|()| wire.result(&id, &Empty {})),
            "resources/unsubscribe" => self
                .subscribe(params, false)
                .map(|()| wire.result(&id, &Empty {})),
            "prompts/list" => self.list_prompts(params).map(|r| Encoded::result(&id, &r)),
            "logging/setLevel" => self
                .set_log_level(params)
                .map(|()| wire.result(&id, &Empty {})),
            "prompts/get" => return self.get_prompt(id, params, out),
            "completion/complete" if self.protocol_version().has_completions() => {
                return self.complete(id, params);
            }
            _ => Err(ErrorObject::method_not_found(method)),
        };
        Reply::Now(result.unwrap_or_else(|e| wire.error(Some(&id), &e)))
    }

    fn initialize(
        self: &Arc<Self>,
        params: Option<&RawValue>,
    ) -> Result<InitializeResult, ErrorObject> {
        let p: InitializeParams = parse_params(params)?;
        let version = ProtocolVersion::negotiate(&p.protocol_version);
        let peer = Peer {
            version,
            info: p.client_info,
            capabilities: p.capabilities,
        };
        tracing::info!(client = %peer.info.name, client_version = %peer.info.version, %version, "initialize");
        self.peer.set(peer).map_err(|_| {
            ErrorObject::new(code::INVALID_REQUEST, "the session is already initialized")
        })?;
        // Sessions that completed the handshake hear about list changes and resource
        // updates; stateless ones (a fresh session per HTTP request) never register.
        self.core.register(self);
        Ok(self.core.initialize_result(version))
    }

    fn list_tools(&self, params: Option<&RawValue>) -> Result<Page, ErrorObject> {
        let table = self.core.tools.load();
        self.page(params, "tools", table.live(), |e, v| e.listing(v))
    }

    /// One page of a list result.
    pub(crate) fn page<E>(
        &self,
        params: Option<&RawValue>,
        key: &'static str,
        items: &[Arc<E>],
        listing: impl Fn(&E, ProtocolVersion) -> &RawValue,
    ) -> Result<Page, ErrorObject> {
        let p: ListParams = parse_optional_params(params)?;
        let (start, end) = crate::server::registration::catalog::page_bounds(
            p.cursor.as_deref(),
            items.len(),
            self.core.page_size,
        )?;
        let version = self.protocol_version();
        let mut out = Vec::with_capacity(32 + (end - start) * 256);
        out.extend_from_slice(b"{\"");
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":[");
        for (i, e) in items[start..end].iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(listing(e, version).get().as_bytes());
        }
        out.push(b']');
        if end < items.len() {
            out.extend_from_slice(b",\"nextCursor\":\"");
            out.extend_from_slice(end.to_string().as_bytes());
            out.push(b'"');
        }
        if let Some(stamp) = self.wire().stamp() {
            stamp.write_fields(&mut out, true);
        }
        out.push(b'}');
        Ok(Page(
            RawValue::from_string(String::from_utf8(out).expect("JSON is UTF-8"))
                .expect("a page is valid JSON"),
        ))
    }

    fn call_tool(
        self: &Arc<Self>,
        id: RequestId,
        params: Option<&RawValue>,
        out: &Outbound,
    ) -> Reply {
        let wire = self.wire().clone();
        let p: CallToolParams = match parse_params(params) {
            Ok(p) => p,
            Err(e) => return Reply::Now(wire.error(Some(&id), &e)),
        };
        let Some(entry) = self.core.tools.get(&p.name) else {
            return Reply::Now(wire.error(
                Some(&id),
                &ErrorObject::invalid_params(format!("Unknown tool: `{}`", p.name)),
            ));
        };
        let version = self.protocol_version();
        let name = entry.def.name;
        let timeout = entry.def.limits.timeout.or(self.core.stack.tool_timeout);
        let arguments = p.arguments.unwrap_or_default();
        let fut = if self.core.stack.has_middleware() {
            let call = ToolRequest {
                origin: Origin::of(self, &id, std::time::Instant::now()),
                name,
                arguments,
            };
            let (session, request_id, meta, sink) =
                (Arc::clone(self), id.clone(), p.meta, out.clone());
            let tool = Arc::clone(&entry);
            let run = move |call: &mut ToolRequest| -> BoxFuture<'static, ToolOutcome> {
                let def = tool.def;
                let permit = match limits::admit(def.name, &def.limits, tool.permits.as_ref()) {
                    Ok(permit) => permit,
                    Err(busy) => return Box::pin(std::future::ready(Ok(busy))),
                };
                let request = session.request_parts(&request_id, meta.clone(), &sink);
                let fut = (def.handler)(ToolCall::new(&tool, call.arguments.clone(), request));
                let fut = limits::guard(fut, permit, timeout, def.name, def.task);
                Box::pin(async move { Ok(fut.await) })
            };
            let chain = &self.core.stack.chain;
            match std::panic::catch_unwind(AssertUnwindSafe(|| {
                middleware::run_chain(chain, middleware::tool_hook, call, run)
            })) {
                Ok(HandlerFuture::Ready(Some(outcome))) => {
                    return Reply::Now(tool_answer(&wire, &id, outcome, version));
                }
                Ok(fut) => Running::Chain(fut),
                Err(panic) => {
                    return Reply::Now(
                        wire.result(&id, &panicked(name, &panic).for_revision(version)),
                    );
                }
            }
        } else {
            let permit = match limits::admit(name, &entry.def.limits, entry.permits.as_ref()) {
                Ok(permit) => permit,
                Err(busy) => return Reply::Now(wire.result(&id, &busy.for_revision(version))),
            };
            let request = self.request_parts(&id, p.meta, out);
            let call = ToolCall::new(&entry, arguments, request);
            let handler = entry.def.handler;
            match std::panic::catch_unwind(AssertUnwindSafe(|| handler(call))) {
                Ok(ToolFuture::Ready(Some(result))) => {
                    return Reply::Now(wire.result(&id, &result.for_revision(version)));
                }
                Ok(fut) => Running::Tool(limits::guard(fut, permit, timeout, name, entry.def.task)),
                Err(panic) => {
                    return Reply::Now(
                        wire.result(&id, &panicked(name, &panic).for_revision(version)),
                    );
                }
            }
        };
        // In a task, a panic fails the task (a protocol-level fault: there is no result); a
        // direct call answers with an `isError` result.
        let round = self
            .round()
            .is_some_and(InputRound::may_become_task)
            .then(|| Arc::clone(self));
        Reply::Later(
            id.clone(),
            Box::pin(async move {
                let outcome = match fut {
                    Running::Tool(f) => CatchUnwind(f).await.map(Ok),
                    Running::Chain(f) => CatchUnwind(f).await,
                };
                match outcome {
                    Ok(outcome) => tool_answer(&wire, &id, outcome, version),
                    Err(msg)
                        if round
                            .as_ref()
                            .and_then(|s| s.round())
                            .is_some_and(|r| r.task().is_some()) =>
                    {
                        tracing::error!(tool = name, panic = %msg, "tool panicked in a task");
                        wire.error(
                            Some(&id),
                            &ErrorObject::internal(format!(
                                "tool `{name}` failed unexpectedly: {msg}"
                            )),
                        )
                    }
                    Err(msg) => wire.result(&id, &panicked_msg(name, &msg).for_revision(version)),
                }
            }),
        )
    }
}

/// A running tool call: the handler's own future, or the middleware chain around it.
enum Running {
    Tool(ToolFuture),
    Chain(HandlerFuture<ToolOutcome>),
}

/// The response to a tool call.
fn tool_answer(
    wire: &Wire,
    id: &RequestId,
    outcome: ToolOutcome,
    version: ProtocolVersion,
) -> Encoded {
    match outcome {
        Ok(result) => wire.result(id, &result.for_revision(version)),
        Err(error) => wire.error(Some(id), &error),
    }
}

impl Session {
    pub(crate) fn list_resources(&self, params: Option<&RawValue>) -> Result<Page, ErrorObject> {
        let table = self.core.resources.load();
        self.page(params, "resources", table.live(), |e, v| e.listing(v))
    }

    pub(crate) fn list_resource_templates(
        &self,
        params: Option<&RawValue>,
    ) -> Result<Page, ErrorObject> {
        let table = self.core.templates.load();
        self.page(params, "resourceTemplates", table.live(), |e, v| {
            e.listing(v)
        })
    }

    pub(crate) fn list_prompts(&self, params: Option<&RawValue>) -> Result<Page, ErrorObject> {
        let table = self.core.prompts.load();
        self.page(params, "prompts", table.live(), |e, v| e.listing(v))
    }

    pub(crate) fn subscribe(&self, params: Option<&RawValue>, on: bool) -> Result<(), ErrorObject> {
        let p: ResourceParams = parse_params(params)?;
        let mut subs = self.subscriptions.lock().unwrap_or_else(|e| e.into_inner());
        if on {
            subs.insert(p.uri);
        } else {
            subs.remove(&p.uri);
        }
        Ok(())
    }

    /// The resource `uri` names: a fixed one, or else the first template that matches it,
    /// with the variables it binds.
    pub(crate) fn find_resource(&self, uri: &str) -> Option<(Arc<ResourceEntry>, Bindings)> {
        match self.core.resources.get(uri) {
            Some(entry) => Some((entry, Vec::new())),
            None => self.core.templates.load().live().iter().find_map(|t| {
                let bindings = t.template.as_ref()?.match_uri(uri)?;
                Some((Arc::clone(t), bindings))
            }),
        }
    }

    pub(crate) fn read_resource(
        self: &Arc<Self>,
        id: RequestId,
        params: Option<&RawValue>,
        out: &Outbound,
    ) -> Reply {
        let wire = self.wire().clone();
        let p: ResourceParams = match parse_params(params) {
            Ok(p) => p,
            Err(e) => return Reply::Now(wire.error(Some(&id), &e)),
        };
        let Some((entry, bindings)) = self.find_resource(&p.uri) else {
            let message = format!("Resource not found: {}", p.uri);
            return Reply::Now(wire.error(Some(&id), &not_found(&p.uri, message)));
        };
        let handler = entry.def.handler;
        let uri = p.uri;
        let encode = {
            let uri = uri.clone();
            move |id: &RequestId, outcome: Result<ResourceOutcome, String>| match outcome {
                Ok(Ok(contents)) => wire.result(id, &ReadResult { contents }),
                Ok(Err(error)) => wire.error(Some(id), &error),
                Err(panic) => {
                    tracing::error!(uri, panic, "resource read panicked");
                    wire.error(
                        Some(id),
                        &ErrorObject::internal(format!(
                            "reading `{uri}` failed unexpectedly: {panic}"
                        )),
                    )
                }
            }
        };
        if self.core.stack.has_middleware() {
            let read = ResourceRequest {
                origin: Origin::of(self, &id, std::time::Instant::now()),
                uri,
                registered: entry.def.uri,
            };
            let (session, request_id, meta, sink) =
                (Arc::clone(self), id.clone(), p.meta, out.clone());
            let run = move |read: &mut ResourceRequest| -> BoxFuture<'static, ResourceOutcome> {
                let request = session.request_parts(&request_id, meta.clone(), &sink);
                let uri = read.uri.clone();
                let fut = handler(ResourceRead::new(
                    &entry,
                    uri.clone(),
                    bindings.clone(),
                    request,
                ));
                Box::pin(async move { fut.await.map_err(|e| resource_error(&uri, e)) })
            };
            let chain = &self.core.stack.chain;
            return run_handler(
                id,
                || middleware::run_chain(chain, middleware::resource_hook, read, run),
                encode,
            );
        }
        let request = self.request_parts(&id, p.meta, out);
        let read = ResourceRead::new(&entry, uri.clone(), bindings, request);
        run_handler(
            id,
            || {
                let fut = handler(read);
                match fut {
                    HandlerFuture::Ready(Some(r)) => {
                        HandlerFuture::Ready(Some(r.map_err(|e| resource_error(&uri, e))))
                    }
                    fut => HandlerFuture::pending(async move {
                        fut.await.map_err(|e| resource_error(&uri, e))
                    }),
                }
            },
            encode,
        )
    }

    pub(crate) fn get_prompt(
        self: &Arc<Self>,
        id: RequestId,
        params: Option<&RawValue>,
        out: &Outbound,
    ) -> Reply {
        let wire = self.wire().clone();
        let p: GetPromptParams = match parse_params(params) {
            Ok(p) => p,
            Err(e) => return Reply::Now(wire.error(Some(&id), &e)),
        };
        let Some(entry) = self.core.prompts.get(&p.name) else {
            return Reply::Now(wire.error(
                Some(&id),
                &ErrorObject::invalid_params(format!("Unknown prompt: `{}`", p.name)),
            ));
        };
        let handler = entry.def.handler;
        let name = entry.def.name;
        let encode = move |id: &RequestId, outcome: Result<PromptOutcome, String>| match outcome {
            Ok(Ok(result)) => wire.result::<GetPromptResult>(id, &result),
            Ok(Err(error)) => wire.error(Some(id), &error),
            Err(panic) => {
                tracing::error!(prompt = name, panic, "prompt panicked");
                wire.error(
                    Some(id),
                    &ErrorObject::internal(format!("prompt `{name}` failed unexpectedly: {panic}")),
                )
            }
        };
        if self.core.stack.has_middleware() {
            let get = PromptRequest {
                origin: Origin::of(self, &id, std::time::Instant::now()),
                name,
                arguments: p.arguments.unwrap_or_default(),
            };
            let (session, request_id, meta, sink) =
                (Arc::clone(self), id.clone(), p.meta, out.clone());
            let run = move |get: &mut PromptRequest| -> BoxFuture<'static, PromptOutcome> {
                let request = session.request_parts(&request_id, meta.clone(), &sink);
                let fut = handler(PromptGet::new(&entry, get.arguments.clone(), request));
                Box::pin(fut)
            };
            let chain = &self.core.stack.chain;
            return run_handler(
                id,
                || middleware::run_chain(chain, middleware::prompt_hook, get, run),
                encode,
            );
        }
        let request = self.request_parts(&id, p.meta, out);
        let get = PromptGet::new(&entry, p.arguments.unwrap_or_default(), request);
        run_handler(id, || handler(get), encode)
    }

    pub(crate) fn complete(self: &Arc<Self>, id: RequestId, params: Option<&RawValue>) -> Reply {
        let wire = self.wire().clone();
        let p: CompleteParams = match parse_params(params) {
            Ok(p) => p,
            Err(e) => return Reply::Now(wire.error(Some(&id), &e)),
        };
        let argument = p.argument.name;
        let completer = match &p.reference {
            CompletionReference::Prompt { name } => {
                let Some(prompt) = self.core.prompts.get(name) else {
                    return Reply::Now(wire.error(
                        Some(&id),
                        &ErrorObject::invalid_params(format!("Unknown prompt: `{name}`")),
                    ));
                };
                match prompt.argument(&argument) {
                    Some(a) => a.spec.complete,
                    None => {
                        return Reply::Now(wire.error(
                            Some(&id),
                            &ErrorObject::invalid_params(format!(
                                "prompt `{name}` has no argument `{argument}`"
                            )),
                        ));
                    }
                }
            }
            CompletionReference::Resource { uri } => {
                let entry = self
                    .core
                    .templates
                    .get(uri)
                    .or_else(|| self.core.resources.get(uri));
                let Some(entry) = entry else {
                    return Reply::Now(wire.error(
                        Some(&id),
                        &ErrorObject::invalid_params(format!("Unknown resource template: `{uri}`")),
                    ));
                };
                match entry.variable(&argument) {
                    Some(v) => v.complete,
                    None => {
                        return Reply::Now(wire.error(
                            Some(&id),
                            &ErrorObject::invalid_params(format!(
                                "resource template `{uri}` has no variable `{argument}`"
                            )),
                        ));
                    }
                }
            }
        };
        let Some(completer) = completer else {
            return Reply::Now(wire.result(
                &id,
                &CompleteResult {
                    completion: Completion::default(),
                },
            ));
        };
        let request = CompletionRequest {
            value: p.argument.value,
            context: CompletionContext {
                argument,
                arguments: p.context.and_then(|c| c.arguments).unwrap_or_default(),
            },
        };
        run_handler(
            id,
            || crate::server::HandlerFuture::pending(completer(request)),
            move |id, outcome| match outcome {
                Ok(Ok(completion)) => wire.result(id, &CompleteResult { completion }),
                Ok(Err(message)) => wire.error(
                    Some(id),
                    &ErrorObject::internal(format!("completion failed: {message}")),
                ),
                Err(panic) => wire.error(
                    Some(id),
                    &ErrorObject::internal(format!("completion failed unexpectedly: {panic}")),
                ),
            },
        )
    }
}
