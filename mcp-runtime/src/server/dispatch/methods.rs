//! The method table of the handshake revisions, and each method it answers.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::session::{
    CatchUnwind, Empty, Outbound, Page, Peer, Reply, Session, panic_text, panicked, panicked_msg,
    parse_optional_params, parse_params, run_handler,
};
use crate::auth::Access;
use crate::escape::{Escaped, MAX_NAME_BYTES};
use crate::middleware::{
    self, BoxFuture, Origin, PromptOutcome, PromptRequest, ResourceOutcome, ResourceRequest,
    ToolOutcome, ToolRequest, limits,
};
use crate::observe::watch::{ToolEnd, ToolWatch};
use crate::protocol::lazy::LazyObject;
use crate::protocol::per_request::Envelope;
use crate::protocol::stamp::Wire;
use crate::protocol::{
    CallToolParams, CompleteParams, CompletionReference, Encoded, ErrorObject, GetPromptParams,
    InitializeParams, InitializeResult, JsonObject, ListParams, ProtocolVersion, RequestId,
    ResourceContents, ResourceParams, code,
};
use crate::server::HandlerFuture;
use crate::server::handlers::call::ToolCall;
use crate::server::handlers::call::ToolFuture;
use crate::server::handlers::completion::{Completion, CompletionContext, CompletionRequest};
use crate::server::handlers::prompt::{GetPromptResult, PromptGet};
use crate::server::handlers::resource::{ResourceErrorKind, ResourceRead};
use crate::server::per_request::rounds::InputRound;
use crate::server::registration::{ResourceEntry, ToolEntry};
use crate::server::uri_template::Bindings;

/// `tools/call` params as a call reads them: the name borrowed, the arguments parsed (the
/// handler takes them as an object), and `_meta` kept as sent until the `Context` is asked
/// for it. Accepts what [`CallToolParams`] accepts.
#[derive(Deserialize)]
struct CallParams<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(default)]
    arguments: Option<JsonObject>,
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<&'a RawValue>,
}

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
            tracing::warn!(uri = ?Escaped(uri), error = %e.message, "resource read failed");
            ErrorObject::internal(format!("reading `{}` failed: {}", Escaped(uri), e.message))
        }
    }
}

/// The protocol's "resource not found" error (a long URI is quoted cut short).
fn not_found(uri: &str, message: String) -> ErrorObject {
    let uri = crate::escape::quoted(uri);
    ErrorObject::new(code::RESOURCE_NOT_FOUND, message).with_data(serde_json::json!({ "uri": uri }))
}

/// A name longer than any this server registers, refused before it is looked up.
pub(crate) fn name_too_long(what: &str, name: &str) -> ErrorObject {
    ErrorObject::invalid_params(format!(
        "the {what} name is {} bytes long, more than the {MAX_NAME_BYTES} allowed: `{}`",
        name.len(),
        Escaped(name)
    ))
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
        if method.len() > MAX_NAME_BYTES {
            let error = name_too_long("method", method);
            return Reply::Now(self.wire().error(Some(&id), &error));
        }
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
        if self.round.get().is_none()
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
                    "received `{}` before `initialize`: the client must send `initialize` first",
                    Escaped(method)
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
                return self.complete(id, params, out);
            }
            // The skills extension (SEP-2640).
            #[cfg(feature = "skills")]
            "skills/list" | "skills/get" | "resources/directory/read"
                if self.core.skills.is_some() =>
            {
                self.skills_method(&id, method, params)
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
            capabilities: p.capabilities.into(),
        };
        tracing::info!(
            client = ?Escaped(&peer.info.name),
            client_version = ?Escaped(&peer.info.version),
            %version,
            "initialize"
        );
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
        let mut visible = self.visible(table.live(), |e| e.def.scopes);
        if visible.iter().any(|e| e.app_only) && !self.hosts_apps() {
            visible =
                std::borrow::Cow::Owned(visible.iter().filter(|e| !e.app_only).cloned().collect());
        }
        self.page(params, "tools", &visible, |e, v| e.listing(v))
    }

    /// Whether the client declared the MCP Apps extension (see [`apps::host_declared`]).
    ///
    /// [`apps::host_declared`]: crate::server::apps::host_declared
    fn hosts_apps(&self) -> bool {
        crate::server::apps::host_declared(self.client_capabilities())
    }

    /// What of `items` the caller may see: all of them for a caller holding every scope
    /// (borrowed, nothing copied), else those whose scopes it holds.
    pub(crate) fn visible<'a, E>(
        &self,
        items: &'a [Arc<E>],
        scopes: impl Fn(&E) -> Option<&'static [&'static str]>,
    ) -> std::borrow::Cow<'a, [Arc<E>]> {
        let caller = self.caller();
        if caller.principal.has_every_scope() {
            return std::borrow::Cow::Borrowed(items);
        }
        let policy = &self.core.policy;
        std::borrow::Cow::Owned(
            items
                .iter()
                .filter(|e| policy.visible(&caller.principal, scopes(e)))
                .cloned()
                .collect(),
        )
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
        let version = self.protocol_version();
        self.page_with(p.cursor.as_deref(), key, items.len(), |i| {
            listing(&items[i], version)
        })
    }

    /// One page of a list result of `len` items, `item(i)` the listing of the `i`th.
    pub(crate) fn page_with<'a>(
        &self,
        cursor: Option<&str>,
        key: &'static str,
        len: usize,
        item: impl Fn(usize) -> &'a RawValue,
    ) -> Result<Page, ErrorObject> {
        let (start, end) =
            crate::server::registration::catalog::page_bounds(cursor, len, self.core.page_size)?;
        let mut out = Vec::with_capacity(32 + (end - start) * 256);
        out.extend_from_slice(b"{\"");
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":[");
        for i in start..end {
            if i > start {
                out.push(b',');
            }
            out.extend_from_slice(item(i).get().as_bytes());
        }
        out.push(b']');
        if end < len {
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
        let p: CallParams<'_> = match parse_params(params) {
            Ok(p) => p,
            Err(e) => return Reply::Now(wire.error(Some(&id), &e)),
        };
        let meta = match p
            .meta
            .map(|raw| LazyObject::from_raw(raw).ok_or(raw))
            .transpose()
        {
            Ok(meta) => meta,
            // Not an object: refused with the message of the parse that reads one.
            Err(_) => {
                let e = parse_params::<CallToolParams>(params)
                    .err()
                    .unwrap_or_else(|| {
                        ErrorObject::invalid_params("Invalid params: `_meta` must be an object")
                    });
                return Reply::Now(wire.error(Some(&id), &e));
            }
        };
        self.call_parsed(id, &p.name, p.arguments, meta, None, out)
    }

    /// A `tools/call` whose params are read: the tool's `name`, its `arguments` and `_meta`.
    /// `entry` is the tool of that name when the caller has looked it up already.
    pub(crate) fn call_parsed(
        self: &Arc<Self>,
        id: RequestId,
        tool: &str,
        arguments: Option<JsonObject>,
        meta: Option<LazyObject>,
        entry: Option<Arc<ToolEntry>>,
        out: &Outbound,
    ) -> Reply {
        let wire = self.wire().clone();
        if tool.len() > MAX_NAME_BYTES {
            return Reply::Now(wire.error(Some(&id), &name_too_long("tool", tool)));
        }
        let Some(entry) = entry.or_else(|| self.core.tools.get(tool)) else {
            return Reply::Now(wire.error(
                Some(&id),
                &ErrorObject::invalid_params(format!("Unknown tool: `{}`", Escaped(tool))),
            ));
        };
        if entry.app_only && !self.hosts_apps() {
            return Reply::Now(wire.error(
                Some(&id),
                &ErrorObject::invalid_params(format!(
                    "Tool `{}` is called by its MCP Apps view only (its visibility leaves out \
                     \"model\"); a client shows views once it declares the `{}` extension",
                    Escaped(tool),
                    crate::server::apps::EXTENSION
                )),
            ));
        }
        let version = self.protocol_version();
        let name = entry.def.name;
        let show = self.core.show_panic_details;
        let server_text = self.core.structured_text;
        let timeout = entry.def.limits.timeout.or(self.core.stack.tool_timeout);
        let arguments = arguments.unwrap_or_default();
        // The caller is read now, while the transport's scope holds it: a hook that waits
        // runs the handler later, outside that scope.
        let caller = self.caller();
        if let Err(e) = self.core.policy.check(
            &caller.principal,
            ("tool", tool),
            entry.def.scopes,
            Access::Tool {
                name: tool,
                arguments: &arguments,
            },
        ) {
            return Reply::Now(wire.error(Some(&id), &e));
        }
        // The tool's span and metrics, around the user's hooks and the handler.
        let watch = ToolWatch::start(&self.core.stack, name);
        let entered = watch.as_ref().and_then(ToolWatch::enter);
        let fut = if self.core.stack.has_tool_hooks() {
            let call = ToolRequest {
                origin: Origin::of(self, &id, std::time::Instant::now()),
                name,
                arguments,
            };
            let (session, request_id, meta, sink) =
                (Arc::clone(self), id.clone(), meta, out.clone());
            let tool = Arc::clone(&entry);
            let run = move |call: &mut ToolRequest| -> BoxFuture<'static, ToolOutcome> {
                let def = tool.def;
                let permit = match limits::admit(def.name, &def.limits, tool.permits.as_ref()) {
                    Ok(permit) => permit,
                    Err(busy) => return Box::pin(std::future::ready(Ok(busy))),
                };
                let mut request = session.request_parts(&request_id, meta.clone(), &sink);
                request.caller = caller.clone();
                let fut = (def.handler)(ToolCall::new(&tool, call.arguments.clone(), request));
                let fut = limits::guard(fut, permit, timeout, def.name, def.task);
                Box::pin(async move { Ok(fut.await) })
            };
            let chain = &self.core.stack.tool_chain;
            match std::panic::catch_unwind(AssertUnwindSafe(|| {
                middleware::run_chain(chain, middleware::tool_hook, call, run)
            })) {
                Ok(HandlerFuture::Ready(Some(outcome))) => {
                    if let Some(w) = &watch {
                        w.ended(ToolEnd::of(&outcome));
                    }
                    return Reply::Now(tool_answer(
                        &wire,
                        &id,
                        &entry,
                        outcome,
                        version,
                        server_text,
                    ));
                }
                Ok(fut) => Running::Chain(fut),
                Err(panic) => {
                    if let Some(w) = &watch {
                        w.ended(ToolEnd::Panicked);
                    }
                    return Reply::Now(
                        wire.result(&id, &panicked(name, &panic, show).for_revision(version)),
                    );
                }
            }
        } else {
            let permit = match limits::admit(name, &entry.def.limits, entry.permits.as_ref()) {
                Ok(permit) => permit,
                Err(busy) => {
                    if let Some(w) = &watch {
                        w.ended(ToolEnd::of_result(&busy));
                    }
                    return Reply::Now(wire.result(&id, &busy.for_revision(version)));
                }
            };
            let mut request = self.request_parts(&id, meta, out);
            request.caller = caller;
            let call = ToolCall::new(&entry, arguments, request);
            let handler = entry.def.handler;
            match std::panic::catch_unwind(AssertUnwindSafe(|| handler(call))) {
                Ok(ToolFuture::Ready(Some(result))) => {
                    if let Some(w) = &watch {
                        w.ended(ToolEnd::of_result(&result));
                    }
                    return Reply::Now(
                        wire.result(&id, &entry.shape(result, version, server_text)),
                    );
                }
                Ok(fut) => Running::Tool(limits::guard(fut, permit, timeout, name, entry.def.task)),
                Err(panic) => {
                    if let Some(w) = &watch {
                        w.ended(ToolEnd::Panicked);
                    }
                    return Reply::Now(
                        wire.result(&id, &panicked(name, &panic, show).for_revision(version)),
                    );
                }
            }
        };
        drop(entered);
        // In a task, a panic fails the task (a protocol-level fault: there is no result); a
        // direct call answers with an `isError` result.
        let round = self
            .round()
            .is_some_and(InputRound::may_become_task)
            .then(|| Arc::clone(self));
        Reply::Later(
            id.clone(),
            Box::pin(async move {
                let polled = async {
                    match fut {
                        Running::Tool(f) => CatchUnwind(f).await.map(Ok),
                        Running::Chain(f) => CatchUnwind(f).await,
                    }
                };
                let outcome = match &watch {
                    Some(w) => {
                        let outcome = w.in_span(polled).await;
                        w.ended(match &outcome {
                            Ok(outcome) => ToolEnd::of(outcome),
                            Err(_) => ToolEnd::Panicked,
                        });
                        outcome
                    }
                    None => polled.await,
                };
                match outcome {
                    Ok(outcome) => tool_answer(&wire, &id, &entry, outcome, version, server_text),
                    Err(msg)
                        if round
                            .as_ref()
                            .and_then(|s| s.round())
                            .is_some_and(|r| r.task().is_some()) =>
                    {
                        let what = format!("tool `{name}`");
                        wire.error(
                            Some(&id),
                            &ErrorObject::internal(panic_text(&what, &msg, show)),
                        )
                    }
                    Err(msg) => wire.result(
                        &id,
                        &entry.shape(panicked_msg(name, &msg, show), version, server_text),
                    ),
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
    entry: &ToolEntry,
    outcome: ToolOutcome,
    version: ProtocolVersion,
    server_text: bool,
) -> Encoded {
    match outcome {
        Ok(result) => wire.result(id, &entry.shape(result, version, server_text)),
        Err(error) => wire.error(Some(id), &error),
    }
}

impl Session {
    pub(crate) fn list_resources(&self, params: Option<&RawValue>) -> Result<Page, ErrorObject> {
        #[cfg(feature = "skills")]
        if self.core.skills.is_some() {
            return self.list_resources_and_skills(params);
        }
        let table = self.core.resources.load();
        let visible = self.visible(table.live(), |e| e.def.scopes);
        self.page(params, "resources", &visible, |e, v| e.listing(v))
    }

    pub(crate) fn list_resource_templates(
        &self,
        params: Option<&RawValue>,
    ) -> Result<Page, ErrorObject> {
        let table = self.core.templates.load();
        let visible = self.visible(table.live(), |e| e.def.scopes);
        self.page(params, "resourceTemplates", &visible, |e, v| e.listing(v))
    }

    pub(crate) fn list_prompts(&self, params: Option<&RawValue>) -> Result<Page, ErrorObject> {
        let table = self.core.prompts.load();
        let visible = self.visible(table.live(), |e| e.def.scopes);
        self.page(params, "prompts", &visible, |e, v| e.listing(v))
    }

    pub(crate) fn subscribe(&self, params: Option<&RawValue>, on: bool) -> Result<(), ErrorObject> {
        let p: ResourceParams = parse_params(params)?;
        if on && self.find_resource(&p.uri).is_none() {
            let message = format!(
                "Resource not found: {}; only resources this server has can be subscribed to",
                Escaped(&p.uri)
            );
            return Err(not_found(&p.uri, message));
        }
        let mut subs = self.subscriptions.lock().unwrap_or_else(|e| e.into_inner());
        if on {
            let max = self.core.limits.max_subscriptions;
            if subs.len() >= max && !subs.contains(&p.uri) {
                return Err(ErrorObject::new(
                    code::INVALID_REQUEST,
                    format!(
                        "this session holds {max} subscriptions, as many as it may; unsubscribe from some first"
                    ),
                ));
            }
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
        #[cfg(feature = "skills")]
        if p.uri.starts_with("skill://")
            && let Some(encoded) = self.read_skill_file(&id, &p.uri)
        {
            return Reply::Now(encoded);
        }
        let Some((entry, bindings)) = self.find_resource(&p.uri) else {
            let message = format!("Resource not found: {}", Escaped(&p.uri));
            return Reply::Now(wire.error(Some(&id), &not_found(&p.uri, message)));
        };
        // Read now, while the transport's scope holds it (see `call_tool`).
        let caller = self.caller();
        if let Err(e) = self.core.policy.check(
            &caller.principal,
            ("resource", &p.uri),
            entry.def.scopes,
            Access::Resource { uri: &p.uri },
        ) {
            return Reply::Now(wire.error(Some(&id), &e));
        }
        let handler = entry.def.handler;
        // MCP Apps: a view's contents carry its `_meta` (the sandbox policy) as its listing does.
        let view_meta = crate::server::apps::view_meta(entry.def);
        let uri = p.uri;
        let show = self.core.show_panic_details;
        let encode = {
            let uri = uri.clone();
            move |id: &RequestId, outcome: Result<ResourceOutcome, String>| match outcome {
                Ok(Ok(contents)) => match view_meta {
                    Some(meta) => wire.result(
                        id,
                        &crate::server::apps::ViewReadResult::new(&contents, meta),
                    ),
                    None => wire.result(id, &ReadResult { contents }),
                },
                Ok(Err(error)) => wire.error(Some(id), &error),
                Err(panic) => {
                    let what = format!("reading `{}`", Escaped(&uri));
                    wire.error(
                        Some(id),
                        &ErrorObject::internal(panic_text(&what, &panic, show)),
                    )
                }
            }
        };
        if self.core.stack.has_item_hooks() {
            let read = ResourceRequest {
                origin: Origin::of(self, &id, std::time::Instant::now()),
                uri,
                registered: entry.def.uri,
            };
            let (session, request_id, meta, sink) = (
                Arc::clone(self),
                id.clone(),
                p.meta.map(LazyObject::parsed),
                out.clone(),
            );
            let run = move |read: &mut ResourceRequest| -> BoxFuture<'static, ResourceOutcome> {
                let mut request = session.request_parts(&request_id, meta.clone(), &sink);
                request.caller = caller.clone();
                let uri = read.uri.clone();
                let fut = handler(ResourceRead::new(
                    &entry,
                    uri.clone(),
                    bindings.clone(),
                    request,
                ));
                Box::pin(async move { fut.await.map_err(|e| resource_error(&uri, e)) })
            };
            let chain = &self.core.stack.items;
            return run_handler(
                id,
                || middleware::run_chain(chain, middleware::resource_hook, read, run),
                encode,
            );
        }
        let mut request = self.request_parts(&id, p.meta.map(LazyObject::parsed), out);
        request.caller = caller;
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
        if p.name.len() > MAX_NAME_BYTES {
            return Reply::Now(wire.error(Some(&id), &name_too_long("prompt", &p.name)));
        }
        let Some(entry) = self.core.prompts.get(&p.name) else {
            return Reply::Now(wire.error(
                Some(&id),
                &ErrorObject::invalid_params(format!("Unknown prompt: `{}`", Escaped(&p.name))),
            ));
        };
        let arguments = p.arguments.unwrap_or_default();
        // Read now, while the transport's scope holds it (see `call_tool`).
        let caller = self.caller();
        if let Err(e) = self.core.policy.check(
            &caller.principal,
            ("prompt", &p.name),
            entry.def.scopes,
            Access::Prompt {
                name: &p.name,
                arguments: &arguments,
            },
        ) {
            return Reply::Now(wire.error(Some(&id), &e));
        }
        let handler = entry.def.handler;
        let name = entry.def.name;
        let show = self.core.show_panic_details;
        let encode = move |id: &RequestId, outcome: Result<PromptOutcome, String>| match outcome {
            Ok(Ok(result)) => wire.result::<GetPromptResult>(id, &result),
            Ok(Err(error)) => wire.error(Some(id), &error),
            Err(panic) => {
                let what = format!("prompt `{name}`");
                wire.error(
                    Some(id),
                    &ErrorObject::internal(panic_text(&what, &panic, show)),
                )
            }
        };
        if self.core.stack.has_item_hooks() {
            let get = PromptRequest {
                origin: Origin::of(self, &id, std::time::Instant::now()),
                name,
                arguments,
            };
            let (session, request_id, meta, sink) = (
                Arc::clone(self),
                id.clone(),
                p.meta.map(LazyObject::parsed),
                out.clone(),
            );
            let run = move |get: &mut PromptRequest| -> BoxFuture<'static, PromptOutcome> {
                let mut request = session.request_parts(&request_id, meta.clone(), &sink);
                request.caller = caller.clone();
                let fut = handler(PromptGet::new(&entry, get.arguments.clone(), request));
                Box::pin(fut)
            };
            let chain = &self.core.stack.items;
            return run_handler(
                id,
                || middleware::run_chain(chain, middleware::prompt_hook, get, run),
                encode,
            );
        }
        let mut request = self.request_parts(&id, p.meta.map(LazyObject::parsed), out);
        request.caller = caller;
        let get = PromptGet::new(&entry, arguments, request);
        run_handler(id, || handler(get), encode)
    }

    pub(crate) fn complete(
        self: &Arc<Self>,
        id: RequestId,
        params: Option<&RawValue>,
        out: &Outbound,
    ) -> Reply {
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
                let caller = self.caller();
                if let Some(scope) = self
                    .core
                    .policy
                    .missing(&caller.principal, prompt.def.scopes)
                {
                    let e =
                        crate::auth::policy::insufficient_scope(&format!("prompt `{name}`"), scope);
                    return Reply::Now(wire.error(Some(&id), &e));
                }
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
                let caller = self.caller();
                if let Some(scope) = self
                    .core
                    .policy
                    .missing(&caller.principal, entry.def.scopes)
                {
                    let e = crate::auth::policy::insufficient_scope(
                        &format!("resource `{uri}`"),
                        scope,
                    );
                    return Reply::Now(wire.error(Some(&id), &e));
                }
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
        let parts = self.request_parts(&id, None, out);
        let request = CompletionRequest {
            value: p.argument.value,
            context: CompletionContext {
                argument,
                arguments: p.context.and_then(|c| c.arguments).unwrap_or_default(),
                request: Some(crate::server::context::Context::new(
                    parts.id,
                    parts.meta,
                    parts.session,
                    parts.out,
                    parts.caller,
                )),
            },
        };
        let show = self.core.show_panic_details;
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
                    &ErrorObject::internal(panic_text("completion", &panic, show)),
                ),
            },
        )
    }
}
