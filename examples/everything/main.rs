//! Every feature the MCP conformance suite exercises, written the way an application would:
//! content of every kind, logging, progress, sampling, elicitation, errors, resources and
//! templates, subscriptions, prompts and completion, SSE polling, and a raw JSON Schema
//! 2020-12 input schema.
//!
//! `cargo run --example everything -- --transport http --port 3000` serves it at
//! `http://127.0.0.1:3000/mcp`, where `npx @modelcontextprotocol/conformance server --url …`
//! can test it; without flags it speaks MCP on stdin/stdout.

use std::sync::Mutex;
use std::time::Duration;

use mcp_runtime::prelude::*;
use mcp_runtime::server::ElicitationResponse;
use mcp_runtime::{Lifespan, ServerHandle, State};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

mod per_request;
mod tasks;

/// A 1×1 PNG.
const PNG: &[u8] = include_bytes!("../assets/pixel.png");
/// A WAV file of one silent sample.
const WAV: &[u8] = include_bytes!("../assets/silence.wav");

// ---------------------------------------------------------------- tools: content

/// Tests simple text content response.
#[tool]
fn test_simple_text() -> &'static str {
    "This is a simple text response for testing."
}

/// Tests image content response.
#[tool]
fn test_image_content() -> Image {
    Image::png(PNG)
}

/// Tests audio content response.
#[tool]
fn test_audio_content() -> Audio {
    Audio::wav(WAV)
}

/// Tests embedded resource content response.
#[tool]
fn test_embedded_resource() -> Content {
    Content::embedded_text(
        "test://embedded-resource",
        Some("text/plain"),
        "This is an embedded resource content.",
    )
}

/// Tests response with multiple content types (text, image, resource).
#[tool]
fn test_multiple_content_types() -> Vec<Content> {
    vec![
        Content::text("Multiple content types test:"),
        Content::image(PNG, "image/png"),
        Content::embedded_text(
            "test://mixed-content-resource",
            Some("application/json"),
            json!({"test": "data", "value": 123}).to_string(),
        ),
    ]
}

/// Tests error response handling: the call fails with `isError: true`.
#[tool]
fn test_error_handling() -> Result<String, ToolError> {
    Err(ToolError::new(
        "This tool intentionally returns an error for testing",
    ))
}

// ---------------------------------------------------------------- tools: while running

/// Tests tool that emits log messages during execution.
#[tool]
async fn test_tool_with_logging(ctx: Context) -> &'static str {
    ctx.info("Tool execution started");
    tokio::time::sleep(Duration::from_millis(50)).await;
    ctx.info("Tool processing data");
    tokio::time::sleep(Duration::from_millis(50)).await;
    ctx.info("Tool execution completed");
    "Tool with logging executed successfully"
}

/// Tests tool that reports progress notifications.
#[tool]
async fn test_tool_with_progress(ctx: Context) -> String {
    for step in [0.0, 50.0, 100.0] {
        let message = format!("Completed step {step} of 100");
        ctx.progress(step, Some(100.0), Some(&message)).await;
        if step < 100.0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    "Progress reported: 0, 50 and 100 of 100".into()
}

/// Tests SSE stream disconnection and client reconnection (SEP-1699): the server closes the
/// stream mid-call and the result arrives after the client reconnects.
#[tool]
async fn test_reconnection(ctx: Context) -> &'static str {
    ctx.close_sse_stream();
    tokio::time::sleep(Duration::from_millis(100)).await;
    "Reconnection test completed successfully. If you received this, the client properly \
     reconnected after stream closure."
}

// ---------------------------------------------------------------- tools: asking the client

/// Tests server-initiated sampling (LLM completion request).
///
/// # Arguments
/// * `prompt` - The prompt to send to the LLM.
#[tool]
async fn test_sampling(prompt: String, ctx: Context) -> Result<String, ToolError> {
    let answer = ctx.sample(SamplingRequest::new(prompt, 100)).await?;
    Ok(format!("LLM response: {}", answer.text()))
}

/// Who the user is.
#[derive(Serialize, Deserialize, JsonSchema, mcp_runtime::Form)]
struct UserInfo {
    /// Your user name.
    username: String,
    /// Your email address.
    #[schemars(email)]
    email: String,
}

/// Tests server-initiated elicitation (user input request).
///
/// # Arguments
/// * `message` - The message to show the user.
#[tool]
async fn test_elicitation(message: String, ctx: Context) -> Result<String, ToolError> {
    let answer = ctx.elicit::<UserInfo>(message).await?;
    Ok(format!("User response: {}", describe(answer)))
}

/// What the user did with a form.
fn describe<T: Serialize>(answer: ElicitationResponse<T>) -> String {
    match answer {
        ElicitationResponse::Accept(content) => {
            format!("action=accept, content={}", json!(content))
        }
        ElicitationResponse::Decline => "action=decline".into(),
        ElicitationResponse::Cancel => "action=cancel".into(),
    }
}

#[derive(Serialize, Deserialize, JsonSchema, mcp_runtime::Form)]
#[serde(rename_all = "lowercase")]
enum Status {
    Active,
    Inactive,
    Pending,
}

/// A form whose every field has a default (SEP-1034).
#[derive(Serialize, Deserialize, JsonSchema, mcp_runtime::Form)]
struct Defaults {
    /// User name
    #[serde(default = "defaults::name")]
    name: String,
    /// User age
    #[serde(default = "defaults::age")]
    age: i64,
    /// User score
    #[serde(default = "defaults::score")]
    score: f64,
    /// User status
    #[serde(default = "defaults::status")]
    status: Status,
    /// Verification status
    #[serde(default = "defaults::verified")]
    verified: bool,
}

mod defaults {
    pub fn name() -> String {
        "John Doe".into()
    }
    pub fn age() -> i64 {
        30
    }
    pub fn score() -> f64 {
        95.5
    }
    pub fn status() -> super::Status {
        super::Status::Active
    }
    pub fn verified() -> bool {
        true
    }
}

/// Tests elicitation with default values per SEP-1034.
#[tool]
async fn test_elicitation_sep1034_defaults(ctx: Context) -> Result<String, ToolError> {
    let answer = ctx
        .elicit::<Defaults>("Please review and update the form fields with defaults")
        .await?;
    Ok(format!("Elicitation completed: {}", describe(answer)))
}

#[derive(Serialize, Deserialize, JsonSchema, mcp_runtime::Form)]
#[serde(rename_all = "lowercase")]
enum Choice {
    Option1,
    Option2,
    Option3,
}

#[derive(Serialize, Deserialize, JsonSchema, mcp_runtime::Form)]
#[serde(rename_all = "lowercase")]
enum Titled {
    #[schemars(title = "First Option")]
    Value1,
    #[schemars(title = "Second Option")]
    Value2,
    #[schemars(title = "Third Option")]
    Value3,
}

#[derive(Serialize, Deserialize, JsonSchema, mcp_runtime::Form)]
#[serde(rename_all = "lowercase")]
enum Legacy {
    Opt1,
    Opt2,
    Opt3,
}

#[derive(Serialize, Deserialize, JsonSchema, mcp_runtime::Form)]
#[serde(rename_all = "lowercase")]
enum TitledChoice {
    /// First Choice
    Value1,
    /// Second Choice
    Value2,
    /// Third Choice
    Value3,
}

/// Each kind of choice a form can offer (SEP-1330).
#[derive(Serialize, Deserialize, JsonSchema, mcp_runtime::Form)]
#[serde(rename_all = "camelCase")]
struct Enums {
    /// Select one option
    untitled_single: Option<Choice>,
    /// Select one option with titles
    titled_single: Option<Titled>,
    /// Select one option (legacy)
    #[schemars(extend("enumNames" = ["Option One", "Option Two", "Option Three"]))]
    legacy_enum: Option<Legacy>,
    /// Select multiple options
    #[schemars(length(min = 1, max = 3))]
    untitled_multi: Option<Vec<Choice>>,
    /// Select multiple options with titles
    #[schemars(length(min = 1, max = 3))]
    titled_multi: Option<Vec<TitledChoice>>,
}

/// Tests elicitation with enum schema improvements per SEP-1330.
#[tool]
async fn test_elicitation_sep1330_enums(ctx: Context) -> Result<String, ToolError> {
    let answer = ctx
        .elicit::<Enums>("Please select options from the enum fields")
        .await?;
    Ok(format!("Elicitation completed: {}", describe(answer)))
}

/// Tests roots: lists the client's roots.
#[tool]
async fn test_roots(ctx: Context) -> Result<String, ToolError> {
    let roots = ctx.roots().await?;
    Ok(roots
        .iter()
        .map(|r| r.uri.as_str())
        .collect::<Vec<_>>()
        .join("\n"))
}

// ---------------------------------------------------------------- tools: cancellation

/// The request ids of the `test_cancellation` calls the client cancelled.
#[derive(Default)]
struct Cancellations(Mutex<Vec<String>>);

/// Tests cancellation: runs until the client cancels it (or a minute passes); the
/// cancellation is recorded for `test_cancellation_log`.
#[tool]
async fn test_cancellation(ctx: Context, log: State<Cancellations>) -> &'static str {
    let watcher = ctx.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = watcher.cancelled() => {
                let mut ids = log.0.lock().unwrap_or_else(|e| e.into_inner());
                ids.push(watcher.request_id().to_string());
            }
            () = tokio::time::sleep(Duration::from_secs(61)) => {}
        }
    });
    tokio::time::sleep(Duration::from_secs(60)).await;
    "The call ran for a minute without being cancelled."
}

/// Lists the request ids of the `test_cancellation` calls that were cancelled.
#[tool]
fn test_cancellation_log(log: State<Cancellations>) -> Vec<String> {
    log.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

// ---------------------------------------------------------------- tools: a raw input schema

/// The input schema of `json_schema_2020_12_tool`, verbatim: JSON Schema 2020-12 keywords
/// beyond what a Rust signature says (`$defs`, `allOf`, `if`/`then`/`else`).
fn contact_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
                "type": "object",
                "properties": {"street": {"type": "string"}, "city": {"type": "string"}}
            }
        },
        "properties": {
            "name": {"type": "string"},
            "address": {"$ref": "#/$defs/address"},
            "contactMethod": {"type": "string", "enum": ["phone", "email"]},
            "phone": {"type": "string"},
            "email": {"type": "string"}
        },
        "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
        "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
        "then": {"required": ["phone"]},
        "else": {"required": ["email"]},
        "additionalProperties": false
    })
}

#[derive(Serialize, Deserialize, JsonSchema)]
struct Address {
    street: Option<String>,
    city: Option<String>,
}

/// Tool with JSON Schema 2020-12 features for conformance testing (SEP-1613).
#[tool(input_schema = contact_schema)]
fn json_schema_2020_12_tool(
    name: Option<String>,
    address: Option<Address>,
    #[arg(rename = "contactMethod")] contact_method: Option<String>,
    phone: Option<String>,
    email: Option<String>,
) -> String {
    let args = json!({"name": name, "address": address, "contactMethod": contact_method,
        "phone": phone, "email": email});
    format!("JSON Schema 2020-12 tool called with: {args}")
}

// ---------------------------------------------------------------- resources

/// A static text resource for testing.
#[resource("test://static-text", mime_type = "text/plain")]
fn static_text() -> &'static str {
    "This is the content of the static text resource."
}

/// A static binary resource (a 1×1 PNG) for testing.
#[resource("test://static-binary", mime_type = "image/png")]
fn static_binary() -> &'static [u8] {
    PNG
}

/// A resource template with an id parameter.
#[resource("test://template/{id}/data", mime_type = "application/json")]
fn template_data(id: String) -> Json<Value> {
    Json(json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")}))
}

/// A resource that changes every few seconds; subscribe to hear when.
#[resource("test://watched-resource", mime_type = "text/plain")]
fn watched_resource() -> String {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("Watched resource content at {}s", since.as_secs())
}

// ---------------------------------------------------------------- prompts

/// A simple prompt without arguments.
#[prompt]
fn test_simple_prompt() -> &'static str {
    "This is a simple prompt for testing."
}

fn suggestions(partial: &str, _: &CompletionContext) -> Vec<String> {
    ["paris", "park", "parse", "test", "testing"]
        .into_iter()
        .filter(|s| s.starts_with(partial))
        .map(String::from)
        .collect()
}

/// A prompt with required arguments.
///
/// # Arguments
/// * `arg1` - First test argument.
/// * `arg2` - Second test argument.
#[prompt]
fn test_prompt_with_arguments(#[arg(complete = suggestions)] arg1: String, arg2: String) -> String {
    format!("Prompt with arguments: arg1='{arg1}', arg2='{arg2}'")
}

/// A prompt that includes an embedded resource.
///
/// # Arguments
/// * `resourceUri` - URI of the resource to embed.
#[prompt]
fn test_prompt_with_embedded_resource(
    #[arg(rename = "resourceUri")] resource_uri: String,
) -> Vec<PromptMessage> {
    vec![
        PromptMessage::user(Content::embedded_text(
            resource_uri,
            Some("text/plain"),
            "Embedded resource content for testing.",
        )),
        PromptMessage::user("Please process the embedded resource above."),
    ]
}

/// A prompt that includes image content.
#[prompt]
fn test_prompt_with_image() -> Vec<PromptMessage> {
    vec![
        PromptMessage::user(Content::image(PNG, "image/png")),
        PromptMessage::user("Please analyze the image above."),
    ]
}

// ---------------------------------------------------------------- serving

/// Tells subscribers of `test://watched-resource` that it changed, every 3 seconds, from
/// start-up to shutdown; and keeps the log of cancellations.
async fn watch(server: ServerHandle) -> Result<Lifespan, mcp_runtime::BoxError> {
    let ticker = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(3));
        every.tick().await;
        loop {
            every.tick().await;
            server.notify_resource_updated("test://watched-resource");
        }
    });
    Ok(Lifespan::new()
        .state(Cancellations::default())
        .on_shutdown(async move { ticker.abort() }))
}

#[tokio::main]
async fn main() -> Result<(), mcp_runtime::Error> {
    let server = Server::new("mcp-conformance-test-server").version("1.0.0");
    let handle = server.handle();
    server
        .instructions("Every fixture of the MCP conformance suite.")
        .lifespan(move || watch(handle.clone()))
        // The skills extension's scenarios read these (sep-2640-*); edits show up within a
        // second, with `notifications/resources/list_changed`.
        .skills_dir(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/everything/skills"
        ))
        .watch_skills(Duration::from_secs(1))
        .run()
        .await
}
