//! A few tools showing the common shapes: plain values, structured output, enums, defaults,
//! errors, async work with progress, and images.
//!
//! Run it with `cargo run --example quickstart`; it speaks MCP on stdin/stdout, or over HTTP
//! with `cargo run --example quickstart -- --transport http` (`--help` lists the options).

use std::collections::BTreeMap;

use mcp_runtime::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Add two integers.
#[tool(annotations(read_only, idempotent, open_world = false))]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Divide `a` by `b`.
#[tool(annotations(read_only, open_world = false))]
fn divide(a: f64, b: f64) -> Result<f64, ToolError> {
    if b == 0.0 {
        return Err(ToolError::new("division by zero: `b` must not be 0"));
    }
    Ok(a / b)
}

/// A temperature scale.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Unit {
    Celsius,
    Fahrenheit,
    Kelvin,
}

/// Convert a temperature between units.
///
/// # Arguments
/// * `value` - The temperature to convert.
/// * `from` - The unit `value` is in.
/// * `to` - The unit to convert to.
#[tool(annotations(read_only, open_world = false))]
fn convert_temperature(value: f64, from: Unit, to: Unit) -> f64 {
    let celsius = match from {
        Unit::Celsius => value,
        Unit::Fahrenheit => (value - 32.0) * 5.0 / 9.0,
        Unit::Kelvin => value - 273.15,
    };
    match to {
        Unit::Celsius => celsius,
        Unit::Fahrenheit => celsius * 9.0 / 5.0 + 32.0,
        Unit::Kelvin => celsius + 273.15,
    }
}

/// Counts of a text.
#[derive(Serialize, JsonSchema)]
struct TextStats {
    /// Number of words.
    words: usize,
    /// Number of lines.
    lines: usize,
    /// Number of characters.
    characters: usize,
    /// The most frequent words, most frequent first.
    top_words: Vec<String>,
}

/// Count the words, lines and characters of a text.
///
/// # Arguments
/// * `text` - The text to analyse.
/// * `top` - How many of the most frequent words to return.
#[tool(annotations(read_only, open_world = false))]
fn text_stats(text: String, #[arg(default = 3)] top: usize) -> TextStats {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for w in text.split_whitespace() {
        let w = w
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if !w.is_empty() {
            *counts.entry(w).or_default() += 1;
        }
    }
    let mut ranked: Vec<(String, usize)> = counts.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    TextStats {
        words: text.split_whitespace().count(),
        lines: text.lines().count(),
        characters: text.chars().count(),
        top_words: ranked.into_iter().take(top).map(|(w, _)| w).collect(),
    }
}

/// Wait for `ms` milliseconds, then say so.
///
/// Reports progress four times along the way when the client asks for progress.
#[tool(annotations(read_only, open_world = false))]
async fn sleep(ms: u64, ctx: Context) -> String {
    let start = tokio::time::Instant::now();
    for quarter in 1..=4u64 {
        tokio::time::sleep_until(start + std::time::Duration::from_millis(ms * quarter / 4)).await;
        let done = (ms * quarter / 4) as f64;
        ctx.progress(done, Some(ms as f64), Some("sleeping")).await;
    }
    format!("slept {ms} ms")
}

/// The project logo, as a PNG image.
#[tool(annotations(read_only, open_world = false))]
fn logo() -> Image {
    Image::png(LOGO_PNG)
}

/// A 1×1 red PNG.
const LOGO_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x08, 0xd7, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0x18, 0xdd, 0x8d, 0xb0, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

#[tokio::main]
async fn main() -> Result<(), mcp_runtime::Error> {
    Server::new("quickstart")
        .version(env!("CARGO_PKG_VERSION"))
        .instructions("Small utilities: arithmetic, temperature conversion, text statistics.")
        .run()
        .await
}
