//! Every prompt option and argument shape.

use mcp_runtime::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Tone {
    Formal,
    Casual,
}

fn tones(partial: &str, _: &CompletionContext) -> Vec<&'static str> {
    ["formal", "casual"]
        .into_iter()
        .filter(|t| t.starts_with(partial))
        .collect()
}

async fn topics(_: &str, ctx: &CompletionContext) -> Result<Completion, std::io::Error> {
    Ok(Completion::new(ctx.get("tone").into_iter().map(str::to_owned)))
}

/// Write a letter.
///
/// # Arguments
/// * `topic` - What about.
#[prompt(
    name = "letter",
    title = "Letter",
    tags("writing"),
    meta(version = 1),
    icon(src = "https://example.com/l.png", theme = "dark")
)]
async fn write_letter(
    #[arg(complete = topics)] topic: String,
    #[arg(complete = tones, default = Tone::Formal)] tone: Tone,
    #[arg(rename = "max-words")] max_words: Option<u32>,
    ctx: Context,
) -> Result<GetPromptResult, String> {
    let _ = (tone, max_words, ctx);
    Ok(GetPromptResult::new(vec![PromptMessage::user(topic)]))
}

/// A plain string prompt.
#[prompt]
fn plain() -> &'static str {
    "hi"
}

/// One message.
#[prompt]
fn one() -> PromptMessage {
    PromptMessage::assistant(Content::text("x"))
}

fn main() {}
