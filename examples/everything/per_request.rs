//! The fixtures of 2026-07-28: arguments mirrored into headers, requests to the client
//! answered over `input_required` rounds, list changes for `subscriptions/listen`.

use mcp_runtime::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A name.
#[derive(Serialize, Deserialize, JsonSchema, mcp_runtime::Form)]
struct NameForm {
    name: String,
}

/// A yes or no.
#[derive(Serialize, Deserialize, JsonSchema, mcp_runtime::Form)]
struct Confirm {
    ok: bool,
}

/// A colour.
#[derive(Serialize, Deserialize, JsonSchema, mcp_runtime::Form)]
struct ColorForm {
    color: String,
}

fn accepted<T>(answer: ElicitationResponse<T>) -> Result<T, ToolError> {
    match answer {
        ElicitationResponse::Accept(v) => Ok(v),
        _ => Err(ToolError::new("the user did not answer")),
    }
}

/// Tests an argument mirrored into an HTTP header (`Mcp-Param-Value`), which the server
/// checks against the body.
///
/// # Arguments
/// * `value` - Any text.
#[tool]
fn test_custom_header(#[arg(header = "Value")] value: String) -> String {
    format!("Value: {value}")
}

/// Tests a request that needs a client capability (sampling) the client may not declare.
#[tool]
async fn test_missing_capability(ctx: Context) -> Result<String, ToolError> {
    let answer = ctx.sample(SamplingRequest::new("Say hi.", 10)).await?;
    Ok(format!("LLM response: {}", answer.text()))
}

/// Tests that asking the user mid-call sends no request on the call's own stream.
#[tool]
async fn test_streaming_elicitation(ctx: Context) -> Result<String, ToolError> {
    let form = accepted(ctx.elicit::<Confirm>("Continue?").await?)?;
    Ok(format!("Continue: {}", form.ok))
}

/// Tests that log messages are sent only to clients that asked for them.
#[tool]
async fn test_logging_tool(ctx: Context) -> &'static str {
    super::test_tool_with_logging(ctx).await
}

/// Tests tool list changes: toggles `test_dynamic_tool`, telling listening clients.
#[tool]
fn test_trigger_tool_change(ctx: Context) -> &'static str {
    let server = ctx.server();
    if !server.disable_tool("test_dynamic_tool") {
        server.enable_tool("test_dynamic_tool");
    }
    "The tool list changed."
}

/// A tool that comes and goes with `test_trigger_tool_change`.
#[tool]
fn test_dynamic_tool() -> &'static str {
    "Still here."
}

/// Tests prompt list changes: toggles `test_dynamic_prompt`, telling listening clients.
#[tool]
fn test_trigger_prompt_change(ctx: Context) -> &'static str {
    let server = ctx.server();
    if !server.disable_prompt("test_dynamic_prompt") {
        server.enable_prompt("test_dynamic_prompt");
    }
    "The prompt list changed."
}

/// A prompt that comes and goes with `test_trigger_prompt_change`.
#[prompt]
fn test_dynamic_prompt() -> &'static str {
    "Still here."
}

/// Tests an input-required result asking the user's name (`user_name`).
#[tool]
async fn test_input_required_result_elicitation(ctx: Context) -> Result<String, ToolError> {
    let form = ctx
        .elicit::<NameForm>("What is your name?")
        .key("user_name");
    Ok(format!("Hello, {}!", accepted(form.await?)?.name))
}

/// Tests an input-required result asking the client's model (`capital_question`).
#[tool]
async fn test_input_required_result_sampling(ctx: Context) -> Result<String, ToolError> {
    let question = SamplingRequest::new("What is the capital of France?", 100);
    let answer = ctx.sample(question).key("capital_question").await?;
    Ok(format!("The model says: {}", answer.text()))
}

/// Tests an input-required result asking the client's roots (`client_roots`).
#[tool]
async fn test_input_required_result_list_roots(ctx: Context) -> Result<String, ToolError> {
    let roots = ctx.roots().key("client_roots").await?;
    Ok(format!("{} root(s): {}", roots.len(), json!(roots)))
}

/// Tests an input-required result whose answer comes back with its sealed `requestState`.
#[tool]
async fn test_input_required_result_request_state(ctx: Context) -> Result<String, ToolError> {
    let form = accepted(
        ctx.elicit::<Confirm>("Please confirm")
            .key("confirm")
            .await?,
    )?;
    Ok(format!("state-ok: confirmed={}", form.ok))
}

/// Tests an input-required result asking three things at once.
#[tool]
async fn test_input_required_result_multiple_inputs(ctx: Context) -> Result<String, ToolError> {
    let (name, greeting, roots) = tokio::join!(
        ctx.elicit::<NameForm>("What is your name?")
            .key("user_name"),
        ctx.sample(SamplingRequest::new("Generate a greeting", 50))
            .key("greeting"),
        ctx.roots().key("client_roots"),
    );
    let name = accepted(name?)?.name;
    Ok(format!(
        "{} {name}, with {} root(s)",
        greeting?.text(),
        roots?.len()
    ))
}

/// Tests input-required results over several rounds: a name, then a colour.
#[tool]
async fn test_input_required_result_multi_round(ctx: Context) -> Result<String, ToolError> {
    let name = ctx
        .elicit::<NameForm>("Step 1: What is your name?")
        .key("step1");
    let name = accepted(name.await?)?.name;
    let color = ctx
        .elicit::<ColorForm>("Step 2: What is your favorite color?")
        .key("step2");
    let color = accepted(color.await?)?.color;
    Ok(format!("{name} likes {color}."))
}

/// Tests that an altered `requestState` is refused.
#[tool]
async fn test_input_required_result_tampered_state(ctx: Context) -> Result<String, ToolError> {
    let form = accepted(
        ctx.elicit::<Confirm>("Please confirm")
            .key("confirm")
            .await?,
    )?;
    Ok(format!("Confirmed: {}", form.ok))
}

/// Tests that input requests follow the client's capabilities: asks the user if it can,
/// else the model, else the roots.
#[tool]
async fn test_input_required_result_capabilities(ctx: Context) -> Result<String, ToolError> {
    let has = |c: &str| {
        ctx.client_capabilities()
            .is_some_and(|caps| caps.contains_key(c))
    };
    if has("elicitation") {
        Ok(accepted(ctx.elicit::<NameForm>("What is your name?").await?)?.name)
    } else if has("sampling") {
        Ok(ctx
            .sample(SamplingRequest::new("Say hi.", 10))
            .await?
            .text())
    } else {
        Ok(json!(ctx.roots().await?).to_string())
    }
}

/// What the prompt should be about.
#[derive(Serialize, Deserialize, JsonSchema, mcp_runtime::Form)]
struct ContextForm {
    context: String,
}

/// Tests an input-required result from `prompts/get`: asks what the prompt should use.
#[prompt]
async fn test_input_required_result_prompt(ctx: Context) -> Result<String, String> {
    let form = ctx
        .elicit::<ContextForm>("What context should the prompt use?")
        .key("user_context")
        .await
        .map_err(|e| e.to_string())?;
    let form = accepted(form).map_err(|e| e.to_string())?;
    Ok(format!("Use this context: {}", form.context))
}
