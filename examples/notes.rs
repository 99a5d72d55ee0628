//! A notebook: resources, resource templates, prompts and completions beside a few tools.
//!
//! - `notes://index` lists the notes as JSON; `notes://{name}` reads one (names complete).
//! - `notes://{name}` subscribers hear when `write_note` changes it.
//! - `docs://{+path}` serves pages whose path keeps its slashes; `math://sum{/n*}` adds the
//!   numbers of an exploded path; `search://notes{?q,limit}` searches with query variables.
//! - `images://logo.png` is binary.
//! - Prompts: `summarize_notes` (no arguments), `review_code` (a completed `language`) and
//!   `discuss_note` (embeds the note as a resource).
//!
//! Run it with `cargo run --example notes`; it speaks MCP on stdin/stdout.

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};

use mcp_runtime::prelude::*;
use serde::Serialize;

/// The notes, by name.
static NOTES: LazyLock<Mutex<BTreeMap<String, String>>> = LazyLock::new(|| {
    let notes = [
        ("groceries", "eggs, flour, milk"),
        ("ideas", "a Rust MCP framework"),
        ("todo", "write the docs"),
    ];
    Mutex::new(
        notes
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
});

fn notes() -> std::sync::MutexGuard<'static, BTreeMap<String, String>> {
    NOTES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Note names starting with what was typed.
fn note_names(partial: &str, _: &CompletionContext) -> Vec<String> {
    notes()
        .keys()
        .filter(|name| name.starts_with(partial))
        .cloned()
        .collect()
}

#[derive(Serialize)]
struct NoteSummary {
    name: String,
    uri: String,
    words: usize,
}

/// Every note, with its URI and length.
#[resource("notes://index", name = "note_index", title = "Note index")]
fn note_index() -> Json<Vec<NoteSummary>> {
    Json(
        notes()
            .iter()
            .map(|(name, text)| NoteSummary {
                name: name.clone(),
                uri: format!("notes://{name}"),
                words: text.split_whitespace().count(),
            })
            .collect(),
    )
}

/// One note, by name.
#[resource("notes://{name}", mime_type = "text/markdown", annotations(audience = ["user", "assistant"], priority = 0.8))]
fn note(#[arg(complete = note_names)] name: String) -> Result<String, ResourceError> {
    notes()
        .get(&name)
        .cloned()
        .ok_or_else(|| ResourceError::not_found(format!("notes://{name}")))
}

/// Write a note, replacing any note of the same name. Subscribers to `notes://{name}` and
/// `notes://index` are told.
#[tool(annotations(destructive = false, idempotent, open_world = false))]
fn write_note(name: String, text: String, ctx: Context) -> String {
    let created = notes().insert(name.clone(), text).is_none();
    // A debugging `println!` is harmless on stdio: the runtime writes the protocol to its own
    // copy of stdout and points stdout at stderr, where this line lands.
    println!("write_note: {name}");
    let server = ctx.server();
    server.notify_resource_updated(&format!("notes://{name}"));
    server.notify_resource_updated("notes://index");
    if created {
        format!("created notes://{name}")
    } else {
        format!("updated notes://{name}")
    }
}

/// Pages of the user guide; the path keeps its slashes (`docs://guide/intro`).
#[resource("docs://{+path}", mime_type = "text/markdown")]
fn docs_page(#[arg(complete = doc_paths)] path: String) -> Result<&'static str, ResourceError> {
    DOCS.iter()
        .find(|(p, _)| *p == path)
        .map(|(_, text)| *text)
        .ok_or_else(|| ResourceError::not_found(format!("docs://{path}")))
}

const DOCS: &[(&str, &str)] = &[
    ("guide/intro", "# Introduction\nNotes are plain text."),
    ("guide/search", "# Search\nUse `search://notes?q=word`."),
    ("faq", "# FAQ\nAsk away."),
];

fn doc_paths(partial: &str, _: &CompletionContext) -> Vec<&'static str> {
    DOCS.iter()
        .map(|(p, _)| *p)
        .filter(|p| p.starts_with(partial))
        .collect()
}

/// The sum of the numbers in the path: `math://sum/1/2/3` is 6.
#[resource("math://sum{/n*}")]
fn sum(n: Vec<i64>) -> String {
    n.iter().sum::<i64>().to_string()
}

/// Notes containing `q`, at most `limit` of them (default 10).
#[resource("search://notes{?q,limit}", mime_type = "application/json")]
fn search(q: String, #[arg(default = 10)] limit: usize) -> Json<Vec<String>> {
    let q = q.to_lowercase();
    Json(
        notes()
            .iter()
            .filter(|(name, text)| name.contains(&q) || text.to_lowercase().contains(&q))
            .take(limit)
            .map(|(name, _)| format!("notes://{name}"))
            .collect(),
    )
}

/// The project logo.
#[resource("images://logo.png", mime_type = "image/png", size = 69)]
fn logo_png() -> &'static [u8] {
    LOGO_PNG
}

/// Summarize every note in a few bullet points.
#[prompt(title = "Summarize notes")]
fn summarize_notes() -> String {
    let mut text = String::from("Summarize these notes in a few bullet points:\n");
    for (name, note) in notes().iter() {
        text.push_str(&format!("\n## {name}\n{note}\n"));
    }
    text
}

const LANGUAGES: &[&str] = &["go", "java", "python", "rust", "typescript"];

fn languages(partial: &str, _: &CompletionContext) -> Vec<&'static str> {
    LANGUAGES
        .iter()
        .copied()
        .filter(|l| l.starts_with(&partial.to_lowercase()))
        .collect()
}

/// Review a piece of code.
///
/// # Arguments
/// * `code` - The code to review.
/// * `language` - The language it is written in.
/// * `focus` - What to look at most (default: correctness).
#[prompt]
fn review_code(
    code: String,
    #[arg(complete = languages)] language: String,
    focus: Option<String>,
) -> Vec<PromptMessage> {
    let focus = focus.unwrap_or_else(|| "correctness".into());
    vec![
        PromptMessage::user(format!(
            "Review this {language} code, looking mostly at {focus}:\n\n```{language}\n{code}\n```"
        )),
        PromptMessage::assistant("I will go through it line by line."),
    ]
}

/// Discuss one note; the note comes embedded as a resource.
#[prompt]
fn discuss_note(
    #[arg(complete = note_names, description = "The note's name")] name: String,
) -> Result<GetPromptResult, String> {
    let text = notes()
        .get(&name)
        .cloned()
        .ok_or_else(|| format!("there is no note named `{name}`"))?;
    Ok(GetPromptResult::new(vec![
        PromptMessage::user(Content::embedded_text(
            format!("notes://{name}"),
            Some("text/markdown"),
            text,
        )),
        PromptMessage::user("What do you make of this note?"),
    ])
    .description(format!("A discussion of notes://{name}")))
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
    Server::new("notes")
        .version(env!("CARGO_PKG_VERSION"))
        .instructions("A notebook: read notes as resources, write them with `write_note`.")
        .run()
        .await
}
