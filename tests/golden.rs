//! Golden files of what the servers send: for each example server and each revision, the
//! `initialize` result (`server/discover` for 2026-07-28), the four lists, and a few
//! `tools/call` (structured output, a tool error, an unknown tool), `resources/read`,
//! `prompts/get` and `completion/complete` answers, errors among them, compared as JSON values
//! with the files in `tests/golden/<server>/<revision>/`.
//!
//! The servers are the example binaries (`cargo build --examples`) driven over stdio with raw
//! JSON-RPC lines, so what is compared is exactly what a server writes; and `shapes`, defined
//! below, for what the examples do not show (server title, description and website, icons,
//! `_meta`, titles shaped per revision, a tool without output schema, a mirrored header
//! argument, resource annotations and sizes), driven in process through `DirectSession`,
//! which returns the bytes a transport would write. Under the handshake
//! revisions each server process gets `initialize` and `notifications/initialized` first; under
//! 2026-07-28 a fresh process gets requests that each carry their `_meta` (revision, client
//! capabilities, client identity), with no handshake.
//!
//! Values that may differ between two runs without the behaviour changing are replaced by
//! `"<varies>"` before comparing and storing (see [`VARYING`]): none of the recorded messages
//! carries one today, but task ids, request states and timestamps would.
//!
//! Each result is also validated against the official schema of its revision
//! (`../shared/schemas/<revision>/schema.json`, or `$MCP_SCHEMAS_DIR`), where there is one.
//!
//! `UPDATE_GOLDEN=1 cargo test --test golden` rewrites the files (pretty-printed, keys sorted).
//! Without it a mismatch fails the test naming the file, the JSON pointer of the first
//! difference and both values there; a missing file fails the same way.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use mcp_runtime::prelude::*;
use mcp_runtime::server::DirectSession;
use mcp_workspace::schema::Schema;
use mcp_workspace::{StdioPeer, fresh_example, workspace_root};
use serde_json::{Map, Value, json};

/// The handshake revisions, oldest first.
const HANDSHAKE: &[&str] = &["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
/// The per-request revision.
const PER_REQUEST: &str = "2026-07-28";

/// Keys whose values may differ between runs; their values are replaced by `"<varies>"`.
const VARYING: &[&str] = &[
    "requestState",
    "taskId",
    "createdAt",
    "lastUpdatedAt",
    "io.modelcontextprotocol/related-task",
];

/// A server under test and the requests to record beyond the lists: (method, params, golden
/// file name).
struct Fixture {
    /// An example binary, or `shapes` (in process).
    example: &'static str,
    requests: &'static [(&'static str, &'static str, &'static str)],
}

/// The in-process fixture's name.
const SHAPES: &str = "shapes";

const FIXTURES: &[Fixture] = &[
    Fixture {
        example: "everything",
        requests: &[
            (
                "tools/call",
                r#"{"name": "test_simple_text", "arguments": {}}"#,
                "tools-call-text",
            ),
            (
                "tools/call",
                r#"{"name": "test_error_handling", "arguments": {}}"#,
                "tools-call-error",
            ),
            (
                "tools/call",
                r#"{"name": "test_cancellation_log", "arguments": {}}"#,
                "tools-call-structured",
            ),
            (
                "tools/call",
                r#"{"name": "test_image_content", "arguments": {}}"#,
                "tools-call-image",
            ),
            (
                "tools/call",
                r#"{"name": "no_such_tool", "arguments": {}}"#,
                "tools-call-unknown",
            ),
            (
                "resources/read",
                r#"{"uri": "test://static-binary"}"#,
                "resources-read-binary",
            ),
            (
                "resources/read",
                r#"{"uri": "test://template/7/data"}"#,
                "resources-read-template",
            ),
            (
                "resources/read",
                r#"{"uri": "test://nothing"}"#,
                "resources-read-missing",
            ),
            (
                "prompts/get",
                r#"{"name": "test_prompt_with_arguments", "arguments": {"arg1": "a", "arg2": "b"}}"#,
                "prompts-get-arguments",
            ),
            (
                "prompts/get",
                r#"{"name": "test_prompt_with_embedded_resource", "arguments": {"resourceUri": "test://x"}}"#,
                "prompts-get-embedded",
            ),
            (
                "prompts/get",
                r#"{"name": "test_prompt_with_arguments", "arguments": {}}"#,
                "prompts-get-missing-argument",
            ),
            (
                "completion/complete",
                r#"{"ref": {"type": "ref/prompt", "name": "test_prompt_with_arguments"}, "argument": {"name": "arg1", "value": "pa"}}"#,
                "completion-complete",
            ),
        ],
    },
    Fixture {
        example: "quickstart",
        requests: &[
            (
                "tools/call",
                r#"{"name": "text_stats", "arguments": {"text": "the cat and the hat\nthe end", "top": 2}}"#,
                "tools-call-structured",
            ),
            (
                "tools/call",
                r#"{"name": "divide", "arguments": {"a": 1, "b": 0}}"#,
                "tools-call-error",
            ),
            (
                "tools/call",
                r#"{"name": "add", "arguments": {"a": 2, "b": "two"}}"#,
                "tools-call-bad-argument",
            ),
        ],
    },
    Fixture {
        example: "notes",
        requests: &[
            (
                "resources/read",
                r#"{"uri": "notes://index"}"#,
                "resources-read-json",
            ),
            (
                "resources/read",
                r#"{"uri": "notes://groceries"}"#,
                "resources-read-template",
            ),
            (
                "resources/read",
                r#"{"uri": "images://logo.png"}"#,
                "resources-read-binary",
            ),
            (
                "resources/read",
                r#"{"uri": "notes://nothing"}"#,
                "resources-read-missing",
            ),
            (
                "prompts/get",
                r#"{"name": "discuss_note", "arguments": {"name": "ideas"}}"#,
                "prompts-get-embedded",
            ),
            (
                "prompts/get",
                r#"{"name": "review_code", "arguments": {"code": "fn main() {}", "language": "rust"}}"#,
                "prompts-get-messages",
            ),
            (
                "completion/complete",
                r#"{"ref": {"type": "ref/resource", "uri": "notes://{name}"}, "argument": {"name": "name", "value": "g"}}"#,
                "completion-complete",
            ),
        ],
    },
    Fixture {
        example: SHAPES,
        requests: &[
            (
                "tools/call",
                r#"{"name": "shapes.echo", "arguments": {"text": "hi"}}"#,
                "tools-call-unstructured",
            ),
            (
                "tools/call",
                r#"{"name": "measure", "arguments": {"text": "a b"}}"#,
                "tools-call-structured",
            ),
            (
                "tools/call",
                r#"{"name": "measure", "arguments": {"text": ""}}"#,
                "tools-call-error",
            ),
            (
                "resources/read",
                r#"{"uri": "shapes://readme"}"#,
                "resources-read-text",
            ),
            (
                "prompts/get",
                r#"{"name": "greet", "arguments": {"name": "Ada"}}"#,
                "prompts-get-text",
            ),
        ],
    },
];

// ---------------------------------------------------------------- the in-process fixture

/// Repeats the text.
///
/// # Arguments
/// * `text` - What to repeat.
#[tool(
    name = "shapes.echo",
    title = "Echo",
    meta(owner = "golden", version = 2, "io.example/beta" = true),
    icon = "https://example.com/echo.png",
    icon(src = "https://example.com/echo-dark.svg", mime_type = "image/svg+xml", sizes = ["48x48", "any"], theme = "dark"),
    annotations(read_only, open_world = false),
    output_schema = false
)]
fn echo(#[arg(header = "Text")] text: String) -> String {
    text
}

/// What `measure` finds.
#[derive(serde::Serialize, schemars::JsonSchema)]
struct Measured {
    /// Words in the text.
    words: usize,
    /// Its first word.
    first: Option<String>,
}

/// Measures a text; empty texts are refused.
#[tool(title = "Measure", annotations(title = "Measure a text", idempotent))]
fn measure(text: String, #[arg(default = false)] shout: bool) -> Result<Measured, ToolError> {
    if text.is_empty() {
        return Err(ToolError::new("`text` is empty: give at least one word"));
    }
    let first = text.split_whitespace().next().map(|w| {
        if shout {
            w.to_uppercase()
        } else {
            w.to_string()
        }
    });
    Ok(Measured {
        words: text.split_whitespace().count(),
        first,
    })
}

/// The project's readme.
#[resource(
    "shapes://readme",
    title = "Read me",
    mime_type = "text/markdown",
    size = 11,
    annotations(audience = ["user"], priority = 0.5, last_modified = "2025-01-12T15:00:58Z"),
    meta(kind = "doc"),
    icon = "https://example.com/readme.png"
)]
fn readme() -> &'static str {
    "# Shapes\nhi"
}

/// One page, by number.
#[resource(
    "shapes://pages/{n}",
    title = "Page",
    icon(src = "https://example.com/page.png", mime_type = "image/png")
)]
fn page(n: u32) -> String {
    format!("page {n}")
}

/// Greets someone.
///
/// # Arguments
/// * `name` - Whom to greet.
/// * `tone` - How.
#[prompt(
    title = "Greeting",
    icon = "https://example.com/wave.png",
    meta(lang = "en")
)]
fn greet(name: String, tone: Option<String>) -> String {
    format!("Greet {name} ({})", tone.unwrap_or_else(|| "warmly".into()))
}

fn shapes_server() -> Server {
    Server::new("shapes")
        .version("1.2.3")
        .title("Shapes")
        .description("Every optional field a listing can carry.")
        .website_url("https://example.com/shapes")
        .instructions("Use `measure` for texts.")
}

/// Something that answers JSON-RPC messages.
trait Wire {
    /// Sends a notification (or any message with no answer).
    fn notify(&mut self, line: &str);
    /// Sends a request and returns its response.
    fn request(&mut self, id: u64, method: &str, params: Value) -> Value;
}

impl Wire for StdioPeer {
    fn notify(&mut self, line: &str) {
        self.send(line);
    }
    fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        StdioPeer::request(self, id, method, params)
    }
}

/// `shapes` in process: each message through `DirectSession::handle`.
struct InProcess {
    runtime: tokio::runtime::Runtime,
    session: DirectSession,
}

impl InProcess {
    fn new() -> InProcess {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let session = {
            let _guard = runtime.enter();
            DirectSession::new(shapes_server()).expect("the shapes server builds")
        };
        InProcess { runtime, session }
    }
}

impl Wire for InProcess {
    fn notify(&mut self, line: &str) {
        let out = self.runtime.block_on(self.session.handle(line));
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    }
    fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        let msg = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let out = self.runtime.block_on(self.session.handle(&msg.to_string()));
        serde_json::from_slice(&out)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
    }
}

const LISTS: &[(&str, &str)] = &[
    ("tools/list", "tools-list"),
    ("resources/list", "resources-list"),
    ("resources/templates/list", "resources-templates-list"),
    ("prompts/list", "prompts-list"),
];

fn client_capabilities() -> Value {
    json!({"roots": {"listChanged": true}, "sampling": {}, "elicitation": {}})
}

fn client_info() -> Value {
    json!({"name": "golden", "version": "1.0.0"})
}

/// The recorded messages of one server at one revision, by golden file name.
type Recording = Vec<(String, Value)>;

/// Lists every page of `method` into `out`: the first page under `name`, later ones under
/// `name.2`, `name.3`…
fn list_pages(
    peer: &mut dyn Wire,
    next_id: &mut u64,
    method: &str,
    name: &str,
    meta: Option<&Value>,
    out: &mut Recording,
) {
    let mut cursor: Option<Value> = None;
    for page in 1.. {
        let mut params = Map::new();
        if let Some(c) = cursor.take() {
            params.insert("cursor".into(), c);
        }
        if let Some(m) = meta {
            params.insert("_meta".into(), m.clone());
        }
        *next_id += 1;
        let reply = peer.request(*next_id, method, Value::Object(params));
        cursor = reply["result"].get("nextCursor").cloned();
        let file = if page == 1 {
            name.to_string()
        } else {
            format!("{name}.{page}")
        };
        out.push((file, reply));
        if cursor.is_none() {
            break;
        }
        assert!(page < 50, "{method} never ends: more than 50 pages");
    }
}

fn record(fixture: &Fixture, revision: &str) -> Recording {
    if fixture.example == SHAPES {
        let mut wire = InProcess::new();
        return record_on(&mut wire, fixture, revision);
    }
    let mut peer = StdioPeer::start(std::process::Command::new(fresh_example(fixture.example)));
    let out = record_on(&mut peer, fixture, revision);
    let (code, rest) = peer.finish(std::time::Duration::from_secs(20));
    assert_eq!(
        code, 0,
        "{} exits cleanly at the end of its input",
        fixture.example
    );
    assert!(
        rest.lines().all(|l| serde_json::from_str::<Value>(l)
            .map(|m| m.get("method").is_some())
            .unwrap_or(false)),
        "only notifications may follow the last response: {rest}"
    );
    out
}

fn record_on(peer: &mut dyn Wire, fixture: &Fixture, revision: &str) -> Recording {
    let mut out = Recording::new();
    let mut id = 1;
    let meta = if revision == PER_REQUEST {
        let meta = json!({
            "io.modelcontextprotocol/protocolVersion": revision,
            "io.modelcontextprotocol/clientCapabilities": client_capabilities(),
            "io.modelcontextprotocol/clientInfo": client_info(),
        });
        let discover = peer.request(id, "server/discover", json!({"_meta": meta}));
        out.push(("server-discover".into(), discover));
        Some(meta)
    } else {
        let init = peer.request(
            id,
            "initialize",
            json!({
                "protocolVersion": revision,
                "capabilities": client_capabilities(),
                "clientInfo": client_info(),
            }),
        );
        assert_eq!(
            init["result"]["protocolVersion"], revision,
            "{} does not speak {revision}: {init}",
            fixture.example
        );
        out.push(("initialize".into(), init));
        peer.notify(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        None
    };
    for (method, name) in LISTS {
        list_pages(peer, &mut id, method, name, meta.as_ref(), &mut out);
    }
    for (method, params, name) in fixture.requests {
        let mut params: Value = serde_json::from_str(params).expect("the params are JSON");
        if let Some(m) = &meta {
            params["_meta"] = m.clone();
        }
        id += 1;
        out.push((name.to_string(), peer.request(id, method, params)));
    }
    for (_, message) in &mut out {
        mask(message);
    }
    out
}

/// Replaces the values of [`VARYING`] keys by `"<varies>"`.
fn mask(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if VARYING.contains(&k.as_str()) {
                    *v = Value::String("<varies>".into());
                } else {
                    mask(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask),
        _ => {}
    }
}

/// Escapes one reference token of a JSON pointer (RFC 6901).
fn token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The JSON pointer of the first place `a` and `b` differ, with both values there.
fn first_difference<'a>(
    a: &'a Value,
    b: &'a Value,
    at: String,
) -> Option<(String, Option<&'a Value>, Option<&'a Value>)> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let here = format!("{at}/{}", token(k));
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => {
                        if let Some(d) = first_difference(p, q, here) {
                            return Some(d);
                        }
                    }
                    (p, q) => return Some((here, p, q)),
                }
            }
            None
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                let here = format!("{at}/{i}");
                match (x.get(i), y.get(i)) {
                    (Some(p), Some(q)) => {
                        if let Some(d) = first_difference(p, q, here) {
                            return Some(d);
                        }
                    }
                    (p, q) => return Some((here, p, q)),
                }
            }
            None
        }
        _ if a == b => None,
        _ => Some((at, Some(a), Some(b))),
    }
}

fn show(v: Option<&Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => {
            let s = v.to_string();
            if s.len() > 300 {
                let head: String = s.chars().take(300).collect();
                format!("{head}… ({} bytes)", s.len())
            } else {
                s
            }
        }
    }
}

fn golden_dir() -> PathBuf {
    workspace_root().join("tests/golden")
}

/// Compares one recorded message with its file (or rewrites the file); returns a description
/// of the mismatch.
fn check(path: &Path, actual: &Value, update: bool) -> Option<String> {
    let shown = path
        .strip_prefix(workspace_root())
        .unwrap_or(path)
        .display();
    if update {
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("creating the folder");
        let text = serde_json::to_string_pretty(actual).expect("serializable") + "\n";
        std::fs::write(path, text).expect("writing a golden file");
        return None;
    }
    let expected: Value = match std::fs::read_to_string(path) {
        Ok(text) => {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{shown} is not JSON: {e}"))
        }
        Err(e) => {
            return Some(format!(
                "{shown}: cannot be read ({e}); a new golden file is made with UPDATE_GOLDEN=1"
            ));
        }
    };
    let (at, want, got) = first_difference(&expected, actual, String::new())?;
    let at = if at.is_empty() {
        "(the root)".into()
    } else {
        at
    };
    Some(format!(
        "{shown}: first difference at {at}\n    golden: {}\n    server: {}",
        show(want),
        show(got)
    ))
}

#[test]
fn what_the_servers_send_matches_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some_and(|v| v != "0" && !v.is_empty());
    let mut failures = Vec::new();
    let mut compared = 0;
    for fixture in FIXTURES {
        for revision in HANDSHAKE.iter().chain([&PER_REQUEST]) {
            let dir = golden_dir().join(fixture.example).join(revision);
            let recording = record(fixture, revision);
            for (name, message) in &recording {
                let path = dir.join(format!("{name}.json"));
                compared += 1;
                failures.extend(check(&path, message, update));
            }
            failures.extend(stale_files(&dir, &recording, update));
            if let Err(e) = validate(revision, &recording) {
                failures.push(format!("{}/{revision}: {e}", fixture.example));
            }
        }
    }
    assert!(compared > 0);
    if !failures.is_empty() {
        let mut report = format!(
            "{} problem(s) with the {compared} messages the servers sent:\n",
            failures.len()
        );
        for f in &failures {
            let _ = writeln!(report, "- {f}");
        }
        report.push_str(
            "If a difference from a golden file is intended, rewrite the files with \
             `UPDATE_GOLDEN=1 cargo test --test golden` and review the diff.",
        );
        panic!("{report}");
    }
}

/// Golden files in `dir` that nothing was recorded for (a page or a request that is gone):
/// removed when updating, reported otherwise.
fn stale_files(dir: &Path, recording: &Recording, update: bool) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut stale = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path
            .file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if recording.iter().any(|(n, _)| n == name) {
            continue;
        }
        if update {
            std::fs::remove_file(&path).expect("removing a stale golden file");
        } else {
            let shown = path
                .strip_prefix(workspace_root())
                .unwrap_or(&path)
                .display();
            stale.push(format!(
                "{shown}: the server sent no such message; UPDATE_GOLDEN=1 removes the file"
            ));
        }
    }
    stale
}

/// The folder of the official schemas: `$MCP_SCHEMAS_DIR`, else `../shared/schemas` beside the
/// repository.
fn schemas_dir() -> PathBuf {
    std::env::var_os("MCP_SCHEMAS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("../shared/schemas"))
}

/// The schema definition of each recorded message's result, by the request's method.
fn result_type(file: &str) -> &'static str {
    match file.split('.').next().unwrap_or(file) {
        "initialize" => "InitializeResult",
        "server-discover" => "DiscoverResult",
        "tools-list" => "ListToolsResult",
        "resources-list" => "ListResourcesResult",
        "resources-templates-list" => "ListResourceTemplatesResult",
        "prompts-list" => "ListPromptsResult",
        f if f.starts_with("tools-call") => "CallToolResult",
        f if f.starts_with("resources-read") => "ReadResourceResult",
        f if f.starts_with("prompts-get") => "GetPromptResult",
        f if f.starts_with("completion-complete") => "CompleteResult",
        f => panic!("no result type for {f}"),
    }
}

/// Checks every recorded result (or error response) against the revision's official schema
/// (`<schemas>/<revision>/schema.json`). There are none for 2024-11-05 and 2025-03-26 in that
/// folder, so those revisions are checked only against their golden files; without the folder
/// at all (a checkout on its own) nothing is validated and a note says so.
fn validate(revision: &str, recording: &Recording) -> Result<(), String> {
    let path = schemas_dir().join(revision).join("schema.json");
    if !path.exists() {
        if !schemas_dir().exists() {
            eprintln!(
                "note: {} is missing, so the results are not validated against the official \
                 schemas; set MCP_SCHEMAS_DIR to their folder",
                schemas_dir().display()
            );
        }
        return Ok(());
    }
    let schema = Schema::load(&path);
    let mut errors = Vec::new();
    // The error response's definition was renamed in 2025-11-25.
    let error_type = ["JSONRPCErrorResponse", "JSONRPCError"]
        .into_iter()
        .find(|t| schema.defines(t))
        .expect("the schema defines JSON-RPC errors");
    for (file, message) in recording {
        let (ty, value) = match message.get("result") {
            Some(result) => (result_type(file), result),
            None => (error_type, message),
        };
        if let Err(e) = schema.validate(ty, value) {
            errors.push(format!("{file}.json is not a valid {ty}: {e}"));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n  "))
    }
}
