//! What a new user meets on the first day: state checked at start, declaration order, and the
//! other checks that turn a confusing run-time failure into a clear one.

use mcp_runtime::prelude::*;
use mcp_runtime::{FromContext, ToolDef};
use serde_json::json;

// ---------------------------------------------------------------- state checked at start

#[derive(Default)]
struct Store(std::sync::Mutex<Vec<String>>);

struct Templates;

/// Remember a note.
#[tool]
fn remember(note: String, store: State<Store>) -> usize {
    let mut notes = store.0.lock().unwrap();
    notes.push(note);
    notes.len()
}

/// The notes, as a prompt.
#[prompt]
fn recall(store: State<Store>, _templates: State<Templates>) -> String {
    store.0.lock().unwrap().join("\n")
}

/// One note.
#[resource("notes://{index}")]
fn note(index: usize, store: State<Store>) -> Result<String, ResourceError> {
    store
        .0
        .lock()
        .unwrap()
        .get(index)
        .cloned()
        .ok_or_else(|| ResourceError::not_found("no such note"))
}

/// An extractor that reads state without declaring it, as a hand-written one may.
struct Undeclared;

impl FromContext for Undeclared {
    fn from_context(ctx: &Context) -> Result<Self, String> {
        ctx.state::<Templates>()
            .map(|_| Undeclared)
            .ok_or_else(|| "the server has no `Templates`".to_string())
    }
}

/// A tool whose extractor fails at call time.
#[tool]
fn undeclared(text: String, _u: Undeclared) -> String {
    text
}

fn tool_def(name: &str) -> &'static ToolDef {
    mcp_runtime::__private::inventory::iter::<ToolDef>
        .into_iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("tool `{name}` is not registered"))
}

#[tokio::test]
async fn a_server_missing_state_refuses_to_start_naming_each_item_and_type() {
    let e = Client::connect(Server::new("first-day"))
        .await
        .unwrap_err()
        .to_string();
    for expected in [
        "tool `remember` (tests/first_day.rs:",
        "takes `State<first_day::Store>`, but the server has no state of that type",
        "prompt `recall` (tests/first_day.rs:",
        "takes `State<first_day::Templates>`",
        "resource `notes://{index}` (tests/first_day.rs:",
        "give it one with `Server::state(value)`",
    ] {
        assert!(e.contains(expected), "`{expected}` missing from: {e}");
    }

    // Only the items served are checked.
    let only_notes = Server::new("first-day")
        .state(Store::default())
        .retain_prompts(|_| false);
    let c = Client::connect(only_notes).await.unwrap();
    let r = c
        .call_tool("remember", json!({"note": "milk"}))
        .await
        .unwrap();
    assert_eq!(r.text_joined(), "1");
}

#[tokio::test]
async fn state_given_by_a_lifespan_counts() {
    let server = Server::new("first-day")
        .state(Templates)
        .lifespan(|| async { Ok(mcp_runtime::Lifespan::new().state(Store::default())) });
    let c = Client::connect(server).await.unwrap();
    let r = c
        .call_tool("remember", json!({"note": "eggs"}))
        .await
        .unwrap();
    assert!(!r.is_error, "{}", r.text_joined());
}

#[tokio::test]
async fn a_tool_added_at_run_time_is_refused_when_its_state_is_missing() {
    let server = Server::empty("first-day");
    let handle = server.handle();
    let _c = Client::connect(server).await.unwrap();
    let e = handle.add_tool(tool_def("remember")).unwrap_err();
    assert!(
        e.starts_with("tool `remember` (tests/first_day.rs:")
            && e.contains("State<first_day::Store>"),
        "{e}"
    );
    handle
        .add_tool(tool_def("undeclared"))
        .expect("a tool taking no state is added");
}

#[tokio::test]
async fn an_extractor_failing_at_call_time_is_an_internal_error_not_invalid_arguments() {
    let c = Client::connect(Server::empty("first-day").tool(tool_def("undeclared")))
        .await
        .unwrap();
    let r = c
        .call_tool("undeclared", json!({"text": "hi"}))
        .await
        .unwrap();
    assert!(r.is_error);
    let text = r.text_joined();
    assert!(
        text.starts_with("Internal error in tool `undeclared`")
            && text.contains("`_u`: the server has no `Templates`")
            && !text.contains("Invalid arguments"),
        "{text}"
    );

    // With the state there, the same call works: the check was the only fault.
    let c = Client::connect(
        Server::empty("first-day")
            .tool(tool_def("undeclared"))
            .state(Templates),
    )
    .await
    .unwrap();
    let r = c
        .call_tool("undeclared", json!({"text": "hi"}))
        .await
        .unwrap();
    assert_eq!(r.text_joined(), "hi");
}

// ---------------------------------------------------------------- declaration order

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Found {
    total: usize,
    hits: Vec<String>,
    elapsed_ms: u64,
}

/// Search the notes.
#[tool]
fn search(query: String, limit: Option<u32>, after: Option<String>) -> Found {
    let _ = (limit, after);
    Found {
        total: 1,
        hits: vec![query],
        elapsed_ms: 0,
    }
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Booking {
    /// Who books.
    name: String,
    /// How many come.
    guests: u32,
    /// Anything else.
    comment: Option<String>,
}

fn keys(v: &serde_json::Value) -> Vec<&str> {
    v.as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn schemas_forms_and_structured_output_keep_declaration_order() {
    let c = Client::connect(
        Server::new("first-day")
            .state(Store::default())
            .state(Templates),
    )
    .await
    .unwrap();
    let tools = c.list_all_tools().await.unwrap();
    let search = tools.iter().find(|t| t.name == "search").unwrap();
    let input = serde_json::Value::Object(search.input_schema.clone());
    assert_eq!(keys(&input["properties"]), ["query", "limit", "after"]);
    let output = serde_json::Value::Object(search.output_schema.clone().expect("structured"));
    assert_eq!(keys(&output["properties"]), ["total", "hits", "elapsed_ms"]);

    let r = c
        .call_tool("search", json!({"query": "milk"}))
        .await
        .unwrap();
    let structured = r.structured_content.clone().expect("structured output");
    assert_eq!(keys(&structured), ["total", "hits", "elapsed_ms"]);
    assert_eq!(
        r.text_joined(),
        r#"{"total":1,"hits":["milk"],"elapsed_ms":0}"#,
        "the text copy too"
    );

    let form = mcp_runtime::server::requested_schema::<Booking>().unwrap();
    assert_eq!(
        keys(&serde_json::Value::Object(form)["properties"]),
        ["name", "guests", "comment"]
    );
}

// ---------------------------------------------------------------- JSON text for objects and arrays

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct Window {
    from: u32,
    to: u32,
}

/// Sum the numbers inside a window.
#[tool]
fn window_sum(window: Window, numbers: Vec<u32>) -> u32 {
    numbers
        .into_iter()
        .filter(|n| (window.from..=window.to).contains(n))
        .sum()
}

#[tokio::test]
async fn objects_and_arrays_sent_as_json_text_are_parsed_where_the_schema_wants_them() {
    let c = Client::connect(Server::empty("first-day").tool(tool_def("window_sum")))
        .await
        .unwrap();
    let r = c
        .call_tool(
            "window_sum",
            json!({"window": "{\"from\": 2, \"to\": \"4\"}", "numbers": " [1, 2, 3, 4, 5]"}),
        )
        .await
        .unwrap();
    assert!(!r.is_error, "{}", r.text_joined());
    assert_eq!(r.structured_content, Some(json!({"result": 9})));

    // Text that is not JSON of the wanted kind is still refused, naming the argument.
    let r = c
        .call_tool(
            "window_sum",
            json!({"window": "from 2 to 4", "numbers": "[1]"}),
        )
        .await
        .unwrap();
    assert!(r.is_error);
    assert!(
        r.text_joined()
            .starts_with("Invalid arguments for tool `window_sum`:\n- `window`:"),
        "{}",
        r.text_joined()
    );
}
