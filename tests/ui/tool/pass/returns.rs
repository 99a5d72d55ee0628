//! Every supported shape of return value, sync and async.

use std::collections::{BTreeMap, HashMap};

use mcp_runtime::prelude::*;
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Serialize, JsonSchema)]
struct Stats {
    words: usize,
    lines: usize,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Yes,
    No,
    Maybe,
}

/// Nothing.
#[tool]
fn nothing() {}

/// Unit, spelled out.
#[tool]
fn unit() -> () {}

/// A string.
#[tool]
fn text() -> String {
    "hi".into()
}

/// A number.
#[tool]
fn number() -> f64 {
    1.5
}

/// Content list.
#[tool]
fn contents() -> Vec<Content> {
    vec![Content::text("a"), Content::text("b")]
}

/// One content.
#[tool]
fn one_content() -> Content {
    Content::text("a")
}

/// A whole result.
#[tool]
fn whole() -> CallToolResult {
    CallToolResult::text("done")
}

/// An image.
#[tool]
fn picture() -> Image {
    Image::png(vec![0u8; 4])
}

/// Audio.
#[tool]
fn sound() -> Audio {
    Audio::wav(vec![0u8; 4])
}

/// A struct.
#[tool]
fn stats(text: String) -> Stats {
    Stats { words: text.split_whitespace().count(), lines: text.lines().count() }
}

/// A list of structs.
#[tool]
fn many_stats() -> Vec<Stats> {
    vec![Stats { words: 1, lines: 1 }]
}

/// A map.
#[tool]
fn counts() -> HashMap<String, u32> {
    HashMap::from([("a".to_string(), 1)])
}

/// A sorted map.
#[tool]
fn sorted_counts() -> BTreeMap<String, Vec<Stats>> {
    BTreeMap::new()
}

/// An enum.
#[tool]
fn verdict() -> Verdict {
    Verdict::Maybe
}

/// An optional value.
#[tool]
fn maybe() -> Option<i32> {
    None
}

/// `Result` with `ToolError`.
#[tool]
fn divide(a: f64, b: f64) -> Result<f64, ToolError> {
    if b == 0.0 {
        return Err(ToolError::new("division by zero"));
    }
    Ok(a / b)
}

/// `Result` with `anyhow::Error`, and `?` on a std error.
#[tool]
fn parse(text: String) -> anyhow::Result<i64> {
    Ok(text.trim().parse::<i64>()?)
}

/// `ToolError` from a std error with `?`.
#[tool]
fn parse_strict(text: String) -> Result<i64, ToolError> {
    Ok(text.parse::<i64>()?)
}

/// `Result` of content.
#[tool]
fn maybe_text(ok: bool) -> Result<String, ToolError> {
    if ok { Ok("yes".into()) } else { Err(ToolError::new("no")) }
}

/// `Result` of a content list.
#[tool]
fn maybe_contents() -> Result<Vec<Content>, anyhow::Error> {
    Ok(vec![Content::text("x")])
}

/// `Result` of a struct.
#[tool]
fn maybe_stats() -> Result<Stats, ToolError> {
    Ok(Stats { words: 0, lines: 0 })
}

/// `Result<(), E>`.
#[tool]
fn check(value: i64) -> Result<(), ToolError> {
    if value < 0 { Err(ToolError::new("negative")) } else { Ok(()) }
}

/// `Result` with a `String` error.
#[tool]
fn string_error() -> Result<i32, String> {
    Err("nope".into())
}

/// `Result<CallToolResult, E>`.
#[tool]
fn maybe_whole() -> Result<CallToolResult, ToolError> {
    Ok(CallToolResult::text("ok"))
}

/// Async, structured.
#[tool]
async fn slow_stats(text: String) -> Stats {
    tokio::task::yield_now().await;
    Stats { words: text.len(), lines: 1 }
}

/// Async, fallible, with the context.
#[tool]
async fn slow_divide(a: f64, b: f64, ctx: Context) -> anyhow::Result<f64> {
    let _ = ctx.request_id();
    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    anyhow::ensure!(b != 0.0, "division by zero");
    Ok(a / b)
}

/// Async, nothing.
#[tool]
async fn slow_nothing() {}

/// Blocking, fallible.
#[tool(blocking)]
fn crunch(n: u64) -> Result<u64, ToolError> {
    Ok((0..n).sum())
}

fn main() {}
