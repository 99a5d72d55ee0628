//! The tools, resources and prompts.

use mcp_runtime::auth::PrincipalKind;
use mcp_runtime::prelude::*;
use mcp_runtime::server::ElicitationResponse;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::store::{Caller, ContextInfo, Hit, Message, NewMessage, Role, StoreError, Trimmed};
use crate::{App, Shared, count_tokens};

/// Reading contexts, their messages and search.
pub const READ_SCOPE: &str = "contexts:read";
/// Creating, appending to, changing, trimming and deleting contexts.
pub const WRITE_SCOPE: &str = "contexts:write";
/// Every tenant's contexts, and `store_stats`.
pub const ADMIN_SCOPE: &str = "contexts:admin";

/// The tenant a principal is, as the `owner` of its contexts: its subject, qualified by the
/// issuer that vouches for it when it came with an OAuth token, so that two issuers' principals
/// with the same `sub` are two tenants. Principals this server authenticated itself (an API
/// key of its key file, the shared token, the local user, the application's own) have no
/// issuer, and are their subject.
pub fn tenant(p: &Principal) -> String {
    let issuer = match p.kind() {
        PrincipalKind::Jwt | PrincipalKind::Introspected => Some(p.issuer().unwrap_or("oauth")),
        _ => p.issuer(),
    };
    tenant_of(issuer, p.subject())
}

/// The tenant of `subject` vouched for by `issuer`: the subject alone without an issuer, and
/// otherwise the JSON array `[issuer, subject]`, which no two different pairs share.
pub fn tenant_of(issuer: Option<&str>, subject: &str) -> String {
    match issuer {
        None => subject.to_string(),
        Some(issuer) => Value::from(vec![issuer, subject]).to_string(),
    }
}

pub(crate) fn caller(p: &Principal) -> Caller {
    Caller {
        owner: tenant(p),
        admin: p.has_scope(ADMIN_SCOPE),
    }
}

/// What a tool says when the store fails: the reason for bad input and unknown ids; for a
/// database failure a generic message (the error itself goes to the log).
fn tool_error(tool: &str, e: StoreError) -> ToolError {
    match e {
        StoreError::NotFound(id) => ToolError::new(format!(
            "{tool}: context `{id}` not found (it does not exist, or belongs to someone else)"
        )),
        StoreError::Invalid(why) => ToolError::new(why),
        StoreError::Database(e) => {
            tracing::error!(tool, error = %e, "database error");
            ToolError::new(format!(
                "{tool}: the database failed; nothing was changed by this call unless it said so. Try again"
            ))
        }
    }
}

fn resource_error(uri: &str, e: StoreError) -> ResourceError {
    match e {
        StoreError::NotFound(_) => ResourceError::not_found(uri),
        StoreError::Invalid(why) => ResourceError::invalid(why),
        StoreError::Database(e) => {
            tracing::error!(uri, error = %e, "database error");
            ResourceError::new("the database failed; try again")
        }
    }
}

/// Whether `id` has the form of a context id: 32 lowercase hexadecimal characters.
pub(crate) fn is_context_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Checks a context id: 32 lowercase hexadecimal characters.
fn check_id(tool: &str, id: &str) -> Result<(), String> {
    if is_context_id(id) {
        Ok(())
    } else {
        let shown: String = id.chars().take(40).collect();
        Err(format!(
            "{tool}: `context_id` must be the 32 lowercase hexadecimal characters `create_context` returned, not {shown:?}"
        ))
    }
}

fn new_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the system's random number generator");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn check_metadata(tool: &str, app: &App, metadata: &Map<String, Value>) -> Result<String, String> {
    let text = Value::Object(metadata.clone()).to_string();
    if text.len() > app.limits.max_metadata_bytes {
        return Err(format!(
            "{tool}: `metadata` is {} bytes of JSON; the limit is {}",
            text.len(),
            app.limits.max_metadata_bytes
        ));
    }
    Ok(text)
}

fn check_title(tool: &str, app: &App, title: &str) -> Result<(), String> {
    let n = title.chars().count();
    if title.trim().is_empty() {
        return Err(format!(
            "{tool}: `title` is empty; give the context a title"
        ));
    }
    if n > app.limits.max_title_chars {
        return Err(format!(
            "{tool}: `title` is {n} characters; the limit is {}",
            app.limits.max_title_chars
        ));
    }
    Ok(())
}

/// Tells subscribers (here and, with `--redis-url`, on every replica) that a context changed.
async fn changed(app: &App, ctx: &Context, id: &str) {
    app.cache.invalidate(id).await;
    let server = ctx.server();
    server.notify_resource_updated(&format!("context://{id}"));
    server.notify_resource_updated(&format!("context://{id}/messages"));
    server.notify_resource_updated("contexts://recent");
}

/// Create a context: a conversation or a piece of shared state, owned by the caller.
///
/// # Arguments
/// * `title` - A short name for it.
/// * `metadata` - Any JSON object to keep with it.
#[tool(
    scopes("contexts:write"),
    annotations(destructive = false, open_world = false)
)]
async fn create_context(
    title: String,
    #[arg(default)] metadata: Map<String, Value>,
    app: State<Shared>,
    who: Principal,
    ctx: Context,
) -> Result<ContextInfo, ToolError> {
    check_title("create_context", &app, &title).map_err(ToolError::new)?;
    check_metadata("create_context", &app, &metadata).map_err(ToolError::new)?;
    let id = new_id();
    let info = app
        .store
        .create(&tenant(&who), &id, title.trim(), &metadata)
        .await
        .map_err(|e| tool_error("create_context", e))?;
    ctx.server().notify_resource_updated("contexts://recent");
    Ok(info)
}

/// A message to append.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageIn {
    /// Who wrote it: `system`, `user`, `assistant` or `tool`.
    pub role: Role,
    /// Its text.
    pub content: String,
    /// Any JSON object to keep with it.
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// What `append_messages` stored.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Appended {
    /// The context.
    pub context_id: String,
    /// The sequence number of the first message appended.
    pub first_seq: i64,
    /// The sequence number of the last.
    pub last_seq: i64,
    /// The tokens of the messages appended.
    pub tokens: i64,
}

/// Append messages to a context, in order, all or none. Each gets the context's next
/// sequence number; concurrent appends never interleave within one call.
///
/// # Arguments
/// * `context_id` - The context, as `create_context` returned it.
/// * `messages` - The messages, oldest first (1 to 100).
#[tool(
    scopes("contexts:write"),
    annotations(destructive = false, open_world = false)
)]
async fn append_messages(
    context_id: String,
    messages: Vec<MessageIn>,
    app: State<Shared>,
    who: Principal,
    ctx: Context,
) -> Result<Appended, ToolError> {
    const TOOL: &str = "append_messages";
    check_id(TOOL, &context_id).map_err(ToolError::new)?;
    if messages.is_empty() || messages.len() > app.limits.max_batch {
        return Err(ToolError::new(format!(
            "{TOOL}: `messages` holds {} messages; give 1 to {}",
            messages.len(),
            app.limits.max_batch
        )));
    }
    let mut batch = Vec::with_capacity(messages.len());
    for (i, m) in messages.into_iter().enumerate() {
        if m.content.len() > app.limits.max_content_bytes {
            return Err(ToolError::new(format!(
                "{TOOL}: `messages[{i}].content` is {} bytes; the limit is {} (--max-content-bytes)",
                m.content.len(),
                app.limits.max_content_bytes
            )));
        }
        if m.content.is_empty() {
            return Err(ToolError::new(format!(
                "{TOOL}: `messages[{i}].content` is empty"
            )));
        }
        let metadata = check_metadata(TOOL, &app, &m.metadata).map_err(|e| {
            ToolError::new(e.replace("`metadata`", &format!("`messages[{i}].metadata`")))
        })?;
        let tokens = count_tokens(&m.content);
        batch.push(NewMessage {
            role: m.role,
            content: m.content,
            metadata,
            tokens,
        });
    }
    let (first_seq, last_seq) = app
        .store
        .append(&caller(&who), &context_id, &batch)
        .await
        .map_err(|e| tool_error(TOOL, e))?;
    app.metrics.appended.inc_by(batch.len() as u64);
    changed(&app, &ctx, &context_id).await;
    Ok(Appended {
        context_id,
        first_seq,
        last_seq,
        tokens: batch.iter().map(|m| m.tokens).sum(),
    })
}

/// A context with its newest messages.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ContextView {
    /// The context.
    pub context: ContextInfo,
    /// Its newest messages, oldest first.
    pub messages: Vec<Message>,
}

/// Read a context and its newest messages.
///
/// # Arguments
/// * `context_id` - The context.
/// * `limit` - The most messages to return (default 50, at most 1000).
/// * `max_tokens` - Return only the newest messages that fit in this many tokens.
#[tool(scopes("contexts:read"), annotations(read_only, open_world = false))]
async fn get_context(
    context_id: String,
    #[arg(default = 50)] limit: u32,
    max_tokens: Option<u32>,
    app: State<Shared>,
    who: Principal,
) -> Result<ContextView, ToolError> {
    const TOOL: &str = "get_context";
    check_id(TOOL, &context_id).map_err(ToolError::new)?;
    let caller = caller(&who);
    let context = app
        .context(&caller, &context_id)
        .await
        .map_err(|e| tool_error(TOOL, e))?;
    let messages = app
        .store
        .window(
            &caller,
            &context_id,
            i64::from(limit.clamp(1, 1000)),
            max_tokens.map(i64::from),
        )
        .await
        .map_err(|e| tool_error(TOOL, e))?;
    Ok(ContextView { context, messages })
}

/// Change a context's title or metadata. Metadata keys given replace those stored; a key
/// given as `null` is removed; keys not given are kept.
///
/// # Arguments
/// * `context_id` - The context.
/// * `title` - A new title.
/// * `metadata` - Keys to set (or, as `null`, to remove).
#[tool(
    scopes("contexts:write"),
    annotations(destructive = false, idempotent, open_world = false)
)]
async fn update_context(
    context_id: String,
    title: Option<String>,
    metadata: Option<Map<String, Value>>,
    app: State<Shared>,
    who: Principal,
    ctx: Context,
) -> Result<ContextInfo, ToolError> {
    const TOOL: &str = "update_context";
    check_id(TOOL, &context_id).map_err(ToolError::new)?;
    if let Some(t) = &title {
        check_title(TOOL, &app, t).map_err(ToolError::new)?;
    }
    if let Some(m) = &metadata {
        check_metadata(TOOL, &app, m).map_err(ToolError::new)?;
    }
    let info = app
        .store
        .update(
            &caller(&who),
            &context_id,
            title.as_deref().map(str::trim),
            metadata.as_ref(),
            app.limits.max_metadata_bytes,
        )
        .await
        .map_err(|e| tool_error(TOOL, e))?;
    changed(&app, &ctx, &context_id).await;
    Ok(info)
}

/// The confirmation `delete_context` asks for.
#[derive(Debug, Deserialize, JsonSchema, Form)]
struct ConfirmDelete {
    /// Delete the context and all its messages for good?
    delete: bool,
}

/// What `delete_context` did.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Deleted {
    /// The context.
    pub context_id: String,
    /// Whether it was deleted (`false`: the user declined).
    pub deleted: bool,
}

/// Delete a context and its messages, after the user confirms (through elicitation; a
/// client that cannot elicit passes `confirm: true` instead).
///
/// # Arguments
/// * `context_id` - The context.
/// * `confirm` - Already confirmed by the user: delete without asking.
#[tool(
    scopes("contexts:write"),
    annotations(destructive, idempotent, open_world = false)
)]
async fn delete_context(
    context_id: String,
    #[arg(default)] confirm: bool,
    app: State<Shared>,
    who: Principal,
    ctx: Context,
) -> Result<Deleted, ToolError> {
    const TOOL: &str = "delete_context";
    check_id(TOOL, &context_id).map_err(ToolError::new)?;
    let caller = caller(&who);
    let info = app
        .store
        .get(&caller, &context_id)
        .await
        .map_err(|e| tool_error(TOOL, e))?;
    if !confirm {
        let can_elicit = ctx
            .client_capabilities()
            .is_some_and(|c| c.contains_key("elicitation"));
        if !can_elicit {
            return Err(ToolError::new(format!(
                "{TOOL}: deleting needs the user's confirmation, and this client cannot ask (it does not support elicitation); \
                 ask the user, then call again with `confirm: true`"
            )));
        }
        let question = format!(
            "Delete the context {:?} and its {} messages? This cannot be undone.",
            info.title, info.message_count
        );
        let answer = ctx
            .elicit::<ConfirmDelete>(question)
            .await
            .map_err(|e| ToolError::new(format!("{TOOL}: could not ask for confirmation: {e}")))?;
        if !matches!(
            answer,
            ElicitationResponse::Accept(ConfirmDelete { delete: true })
        ) {
            return Ok(Deleted {
                context_id,
                deleted: false,
            });
        }
    }
    app.store
        .delete(&caller, &context_id)
        .await
        .map_err(|e| tool_error(TOOL, e))?;
    changed(&app, &ctx, &context_id).await;
    Ok(Deleted {
        context_id,
        deleted: true,
    })
}

/// Search results.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SearchResults {
    /// The matching messages, best first.
    pub hits: Vec<Hit>,
}

/// Full-text search over the caller's messages: every word must appear (case does not
/// matter; punctuation is ignored).
///
/// # Arguments
/// * `query` - The words to find.
/// * `context_id` - Search this context only.
/// * `limit` - The most results (default 20, at most 200).
#[tool(scopes("contexts:read"), annotations(read_only, open_world = false))]
async fn search_messages(
    query: String,
    context_id: Option<String>,
    #[arg(default = 20)] limit: u32,
    app: State<Shared>,
    who: Principal,
) -> Result<SearchResults, ToolError> {
    const TOOL: &str = "search_messages";
    if let Some(id) = &context_id {
        check_id(TOOL, id).map_err(ToolError::new)?;
    }
    let hits = app
        .store
        .search(
            &caller(&who),
            &query,
            context_id.as_deref(),
            i64::from(limit.clamp(1, 200)),
        )
        .await
        .map_err(|e| tool_error(TOOL, e))?;
    Ok(SearchResults { hits })
}

/// Trim a context to a token budget: delete its oldest messages until the rest fit in
/// `max_tokens` (counted with the `cl100k_base` encoding, 4 tokens per message around its
/// content).
///
/// # Arguments
/// * `context_id` - The context.
/// * `max_tokens` - The budget.
#[tool(
    scopes("contexts:write"),
    annotations(destructive, idempotent, open_world = false)
)]
async fn trim_context(
    context_id: String,
    max_tokens: u32,
    app: State<Shared>,
    who: Principal,
    ctx: Context,
) -> Result<Trimmed, ToolError> {
    const TOOL: &str = "trim_context";
    check_id(TOOL, &context_id).map_err(ToolError::new)?;
    let trimmed = app
        .store
        .trim(&caller(&who), &context_id, i64::from(max_tokens))
        .await
        .map_err(|e| tool_error(TOOL, e))?;
    changed(&app, &ctx, &context_id).await;
    Ok(trimmed)
}

/// A page of contexts.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ContextList {
    /// The contexts, most recently changed first.
    pub contexts: Vec<ContextInfo>,
    /// Pass as `before` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

/// List the caller's contexts, most recently changed first.
///
/// # Arguments
/// * `limit` - The most to return (default 20, at most 200).
/// * `before` - Only those changed before this time (`next_before` of the previous page).
#[tool(scopes("contexts:read"), annotations(read_only, open_world = false))]
async fn list_contexts(
    #[arg(default = 20)] limit: u32,
    before: Option<i64>,
    app: State<Shared>,
    who: Principal,
) -> Result<ContextList, ToolError> {
    let limit = i64::from(limit.clamp(1, 200));
    let contexts = app
        .store
        .recent(&caller(&who), limit, before)
        .await
        .map_err(|e| tool_error("list_contexts", e))?;
    let next_before = (contexts.len() as i64 == limit)
        .then(|| contexts.last().map(|c| c.updated_at))
        .flatten();
    Ok(ContextList {
        contexts,
        next_before,
    })
}

/// What the store holds.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Stats {
    /// Contexts, of every tenant.
    pub contexts: i64,
    /// Messages.
    pub messages: i64,
    /// Tenants with at least one context.
    pub tenants: i64,
    /// `sqlite` or `postgres`.
    pub engine: String,
}

/// For operators: how many contexts, messages and tenants the store holds.
#[tool(scopes("contexts:admin"), annotations(read_only, open_world = false))]
async fn store_stats(app: State<Shared>) -> Result<Stats, ToolError> {
    let (contexts, messages, tenants) = app
        .store
        .stats()
        .await
        .map_err(|e| tool_error("store_stats", e))?;
    Ok(Stats {
        contexts,
        messages,
        tenants,
        engine: match app.store.engine() {
            crate::store::Engine::Sqlite => "sqlite".into(),
            crate::store::Engine::Postgres => "postgres".into(),
        },
    })
}

/// A context's record: title, metadata, counts and times.
#[resource(
    "context://{id}",
    name = "context",
    mime_type = "application/json",
    scopes("contexts:read")
)]
async fn context_resource(
    id: String,
    app: State<Shared>,
    who: Principal,
) -> Result<Json<ContextInfo>, ResourceError> {
    let uri = format!("context://{id}");
    check_id("context://{id}", &id).map_err(|_| ResourceError::not_found(&uri))?;
    app.context(&caller(&who), &id)
        .await
        .map(Json)
        .map_err(|e| resource_error(&uri, e))
}

/// A context's messages after `since` (a sequence number, default 0), oldest first, at most
/// `limit` (default 100, at most 1000).
#[resource(
    "context://{id}/messages{?since,limit}",
    name = "context_messages",
    mime_type = "application/json",
    scopes("contexts:read")
)]
async fn messages_resource(
    id: String,
    #[arg(default = 0)] since: i64,
    #[arg(default = 100)] limit: u32,
    app: State<Shared>,
    who: Principal,
) -> Result<Json<Vec<Message>>, ResourceError> {
    let uri = format!("context://{id}/messages");
    check_id("context://{id}/messages", &id).map_err(|_| ResourceError::not_found(&uri))?;
    app.store
        .messages_since(&caller(&who), &id, since, i64::from(limit.clamp(1, 1000)))
        .await
        .map(Json)
        .map_err(|e| resource_error(&uri, e))
}

/// The caller's 20 most recently changed contexts.
#[resource(
    "contexts://recent",
    name = "recent_contexts",
    mime_type = "application/json",
    scopes("contexts:read")
)]
async fn recent_resource(
    app: State<Shared>,
    who: Principal,
) -> Result<Json<Vec<ContextInfo>>, ResourceError> {
    app.store
        .recent(&caller(&who), 20, None)
        .await
        .map(Json)
        .map_err(|e| resource_error("contexts://recent", e))
}

fn prompt_error(e: StoreError) -> PromptError {
    match e {
        StoreError::NotFound(id) => PromptError::invalid(format!("context `{id}` not found")),
        StoreError::Invalid(why) => PromptError::invalid(why),
        StoreError::Database(e) => {
            tracing::error!(error = %e, "database error");
            PromptError::new("the database failed; try again")
        }
    }
}

async fn prompt_window(
    app: &App,
    who: &Principal,
    context_id: &str,
    max_tokens: Option<u32>,
) -> Result<(ContextInfo, Vec<Message>), PromptError> {
    check_id("the prompt", context_id).map_err(PromptError::invalid)?;
    let caller = caller(who);
    let info = app
        .context(&caller, context_id)
        .await
        .map_err(prompt_error)?;
    let budget = i64::from(max_tokens.unwrap_or(3000));
    let messages = app
        .store
        .window(&caller, context_id, 1000, Some(budget))
        .await
        .map_err(prompt_error)?;
    Ok((info, messages))
}

/// Summarize a context: its newest messages that fit in the budget, with a request for a
/// summary.
///
/// # Arguments
/// * `context_id` - The context.
/// * `max_tokens` - The most tokens of messages to include (default 3000).
#[prompt(scopes("contexts:read"))]
async fn summarize_context(
    context_id: String,
    max_tokens: Option<u32>,
    app: State<Shared>,
    who: Principal,
) -> Result<GetPromptResult, PromptError> {
    let (info, messages) = prompt_window(&app, &who, &context_id, max_tokens).await?;
    let mut text = format!(
        "Summarize this conversation, {:?}, in a few sentences: what was asked, what was decided, what is still open.\n",
        info.title
    );
    if messages.len() < info.message_count as usize {
        text.push_str(&format!(
            "(Only its last {} of {} messages fit.)\n",
            messages.len(),
            info.message_count
        ));
    }
    for m in &messages {
        text.push_str(&format!("\n[{}] {}", m.role.as_str(), m.content));
    }
    Ok(GetPromptResult::new(vec![PromptMessage::user(text)])
        .description(format!("A summary of {:?}", info.title)))
}

/// Continue a conversation: its newest messages that fit in the budget, as the prompt's
/// messages (system and tool messages as user messages, marked).
///
/// # Arguments
/// * `context_id` - The context.
/// * `max_tokens` - The most tokens of messages to include (default 3000).
#[prompt(scopes("contexts:read"))]
async fn continue_conversation(
    context_id: String,
    max_tokens: Option<u32>,
    app: State<Shared>,
    who: Principal,
) -> Result<GetPromptResult, PromptError> {
    let (info, messages) = prompt_window(&app, &who, &context_id, max_tokens).await?;
    let mut out: Vec<PromptMessage> = messages
        .iter()
        .map(|m| match m.role {
            Role::User => PromptMessage::user(m.content.clone()),
            Role::Assistant => PromptMessage::assistant(m.content.clone()),
            Role::System => PromptMessage::user(format!("[system] {}", m.content)),
            Role::Tool => PromptMessage::user(format!("[tool] {}", m.content)),
        })
        .collect();
    if out.is_empty() {
        out.push(PromptMessage::user(format!(
            "The conversation {:?} has no messages yet. Start it.",
            info.title
        )));
    }
    Ok(GetPromptResult::new(out).description(format!("The conversation {:?}", info.title)))
}
