//! The fixtures of the tasks extension (`io.modelcontextprotocol/tasks`, 2026-07-28): calls
//! a client that declares the extension gets back as tasks, to poll with `tasks/get`.

use std::time::Duration;

use mcp_runtime::prelude::*;
use mcp_runtime::server::ElicitationResponse;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Greets someone; always answers directly.
///
/// # Arguments
/// * `name` - Who to greet.
#[tool]
fn greet(name: String) -> String {
    format!("Hello, {name}!")
}

/// Computes for `seconds` seconds; a task for clients that support tasks (unless it takes no
/// time at all).
///
/// # Arguments
/// * `seconds` - How long the computation takes.
/// * `label` - A name for the computation.
#[tool(task = "optional")]
async fn slow_compute(seconds: u64, label: Option<String>, ctx: Context) -> String {
    let label = label.unwrap_or_else(|| "compute".into());
    if seconds > 0 {
        ctx.set_status_message(format!("{label}: computing for {seconds} s"));
        tokio::time::sleep(Duration::from_secs(seconds)).await;
    }
    format!("{label}: done after {seconds} s")
}

/// A job that fails after a second: a tool error, so its task completes with `isError`.
/// Runs only as a task.
#[tool(task = "required")]
async fn failing_job() -> Result<String, ToolError> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    Err(ToolError::new("the job failed: its input was rejected"))
}

/// A job that crashes: its task fails with a JSON-RPC error rather than completing.
#[tool(task = "optional")]
async fn protocol_error_job() -> String {
    tokio::time::sleep(Duration::from_millis(200)).await;
    panic!("the job's worker crashed")
}

/// A confirmation.
#[derive(Serialize, Deserialize, JsonSchema, mcp_runtime::Form)]
struct Confirmation {
    /// Whether to go ahead.
    confirm: bool,
}

/// A value.
#[derive(Serialize, Deserialize, JsonSchema, mcp_runtime::Form)]
struct Named {
    /// The value.
    name: String,
}

/// Deletes a file once the user confirms; the question waits in the task.
///
/// # Arguments
/// * `filename` - The file to delete.
#[tool(task = "optional")]
async fn confirm_delete(filename: String, ctx: Context) -> Result<String, ToolError> {
    ctx.continue_as_task().await;
    let answer = ctx
        .elicit::<Confirmation>(format!("Delete {filename}?"))
        .await?;
    Ok(match answer {
        ElicitationResponse::Accept(Confirmation { confirm: true }) => {
            format!("Deleted {filename}.")
        }
        _ => format!("Kept {filename}."),
    })
}

/// Asks two questions at once from a task; each can be answered on its own.
#[tool(task = "optional")]
async fn multi_input(ctx: Context) -> Result<String, ToolError> {
    ctx.continue_as_task().await;
    let (first, second) = tokio::join!(
        ctx.elicit::<Named>("First value?"),
        ctx.elicit::<Named>("Second value?"),
    );
    let value = |answer: ElicitationResponse<Named>| match answer {
        ElicitationResponse::Accept(n) => n.name,
        _ => "(none)".into(),
    };
    Ok(format!("Got {} and {}", value(first?), value(second?)))
}

/// Asks the user's name before the task exists (an `input_required` round), then greets
/// them from a task.
#[tool(task = "required")]
async fn test_tool_with_task(ctx: Context) -> Result<String, ToolError> {
    let name = match ctx
        .elicit::<Named>("What is your name?")
        .key("user_name")
        .await?
    {
        ElicitationResponse::Accept(n) => n.name,
        _ => return Err(ToolError::new("the user did not give a name")),
    };
    ctx.continue_as_task().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(format!("Hello, {name}, from a task!"))
}
