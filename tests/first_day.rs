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

#[tokio::test]
async fn a_client_calls_a_tool_with_arguments_of_its_own_serializable_type() {
    #[derive(serde::Serialize)]
    struct Range {
        from: u32,
        to: u32,
    }
    #[derive(serde::Serialize)]
    struct Args<'a> {
        window: Range,
        numbers: &'a [u32],
    }
    let c = Client::connect(Server::empty("first-day").tool(tool_def("window_sum")))
        .await
        .unwrap();
    let numbers = [1, 2, 3, 4, 5];
    let args = Args {
        window: Range { from: 2, to: 4 },
        numbers: &numbers,
    };
    // By reference and by value: the same call as `json!({…})` gives.
    let r = c.call_tool("window_sum", &args).await.unwrap();
    assert!(!r.is_error, "{}", r.text_joined());
    assert_eq!(r.structured_content, Some(json!({"result": 9})));
    let r = c.call_tool("window_sum", args).await.unwrap();
    assert_eq!(r.structured_content, Some(json!({"result": 9})));
    // A type that is not an object is refused by the server like any other bad arguments.
    let r = c.call_tool("window_sum", [1, 2]).await.unwrap_err();
    assert!(
        r.to_string()
            .contains("Invalid params: `arguments`: invalid type: sequence, expected a map"),
        "{r}"
    );
}

// ---------------------------------------------------------------- structured results without their text copy

#[derive(serde::Serialize, schemars::JsonSchema)]
struct Weather {
    city: String,
    celsius: i32,
}

/// The weather, structured only.
#[tool(text = false)]
fn weather_lean(city: String) -> Weather {
    Weather { city, celsius: 21 }
}

/// The weather, with its text copy whatever the server says.
#[tool(text = true)]
fn weather_full(city: String) -> Weather {
    Weather { city, celsius: 21 }
}

/// A plain number, following the server.
#[tool]
fn forty_two() -> u32 {
    42
}

async fn weather_client(server: Server, version: &str) -> Client {
    let server = server
        .only_tools(&["weather_lean", "weather_full", "forty_two"])
        .retain_prompts(|_| false)
        .retain_resources(|_| false);
    let options = mcp_runtime::ClientOptions {
        protocol_version: version.into(),
        ..Default::default()
    };
    Client::connect_with(server, options).await.unwrap()
}

#[tokio::test]
async fn text_false_drops_the_text_copy_where_the_revision_has_structured_content() {
    let c = weather_client(Server::new("first-day"), "2025-11-25").await;
    let lean = c
        .call_tool("weather_lean", json!({"city": "Oslo"}))
        .await
        .unwrap();
    assert!(lean.content.is_empty(), "{:?}", lean.content);
    assert_eq!(
        lean.structured_content,
        Some(json!({"city": "Oslo", "celsius": 21}))
    );
    let full = c.call_tool("forty_two", json!({})).await.unwrap();
    assert_eq!(full.text_joined(), "42", "the server's default keeps it");

    // The server-wide switch, and a tool keeping its copy against it.
    let c = weather_client(
        Server::new("first-day").structured_text(false),
        "2025-11-25",
    )
    .await;
    let plain = c.call_tool("forty_two", json!({})).await.unwrap();
    assert!(plain.content.is_empty());
    assert_eq!(plain.structured_content, Some(json!({"result": 42})));
    let full = c
        .call_tool("weather_full", json!({"city": "Oslo"}))
        .await
        .unwrap();
    assert_eq!(full.text_joined(), r#"{"city":"Oslo","celsius":21}"#);

    // A revision without `structuredContent` keeps the text: it is all the client gets.
    let c = weather_client(Server::new("first-day"), "2025-03-26").await;
    let old = c
        .call_tool("weather_lean", json!({"city": "Oslo"}))
        .await
        .unwrap();
    assert_eq!(old.structured_content, None);
    assert_eq!(old.text_joined(), r#"{"city":"Oslo","celsius":21}"#);
}

// ---------------------------------------------------------------- elicitation shorthands

/// Delete every note, once the user confirms.
#[tool]
async fn clear_notes(ctx: Context) -> Result<&'static str, ToolError> {
    Ok(if ctx.confirm("Delete every note?").await? {
        "deleted"
    } else {
        "kept"
    })
}

#[derive(serde::Deserialize, schemars::JsonSchema, Debug, PartialEq, mcp_runtime::Form)]
#[serde(rename_all = "lowercase")]
enum Size {
    Small,
    Large,
}

/// Ask for a number and a size.
#[tool]
async fn order(ctx: Context) -> Result<String, ToolError> {
    let count = ctx.ask::<u32>("How many?").await?;
    let size = ctx.ask::<Size>("Which size?").await?;
    Ok(format!("{:?} {:?}", count.accepted(), size.accepted()))
}

/// A client whose user answers each form with `answer(form)`, recording the forms.
fn answering(
    answer: fn(&serde_json::Value) -> serde_json::Value,
    seen: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>,
) -> mcp_runtime::ClientOptions {
    mcp_runtime::ClientOptions {
        capabilities: json!({"elicitation": {}}).as_object().unwrap().clone(),
        on_request: Some(mcp_runtime::ServerRequestHandler::new(
            move |method, params| {
                assert_eq!(method, "elicitation/create");
                let reply = answer(&params);
                seen.lock().unwrap().push(params);
                Box::pin(async move { Ok(reply) })
            },
        )),
        ..Default::default()
    }
}

#[tokio::test]
async fn confirm_and_ask_send_one_field_forms_and_read_the_answer() {
    let server = || {
        Server::empty("first-day")
            .tool(tool_def("clear_notes"))
            .tool(tool_def("order"))
    };
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let yes = |_: &serde_json::Value| json!({"action": "accept", "content": {"confirm": true}});
    let c = Client::connect_with(server(), answering(yes, seen.clone()))
        .await
        .unwrap();
    let r = c.call_tool("clear_notes", json!({})).await.unwrap();
    assert_eq!(r.text_joined(), "deleted");
    let form = seen.lock().unwrap()[0].clone();
    assert_eq!(form["message"], "Delete every note?");
    assert_eq!(
        form["requestedSchema"]["properties"]["confirm"]["type"],
        "boolean"
    );

    for no in [
        (|_: &serde_json::Value| json!({"action": "accept", "content": {"confirm": false}}))
            as fn(&serde_json::Value) -> serde_json::Value,
        |_| json!({"action": "decline"}),
        |_| json!({"action": "cancel"}),
    ] {
        let c = Client::connect_with(server(), answering(no, seen.clone()))
            .await
            .unwrap();
        let r = c.call_tool("clear_notes", json!({})).await.unwrap();
        assert_eq!(r.text_joined(), "kept");
    }

    seen.lock().unwrap().clear();
    let pick = |form: &serde_json::Value| {
        let value = if form["message"] == "How many?" {
            json!(3)
        } else {
            json!("large")
        };
        json!({"action": "accept", "content": {"value": value}})
    };
    let c = Client::connect_with(server(), answering(pick, seen.clone()))
        .await
        .unwrap();
    let r = c.call_tool("order", json!({})).await.unwrap();
    assert_eq!(r.text_joined(), "Some(3) Some(Large)");
    let forms = seen.lock().unwrap().clone();
    assert_eq!(
        forms[0]["requestedSchema"]["properties"]["value"]["type"],
        "integer"
    );
    assert_eq!(
        forms[1]["requestedSchema"]["properties"]["value"]["enum"],
        json!(["small", "large"])
    );
}

// ---------------------------------------------------------------- client helpers

/// Count to three, reporting progress, and log once.
#[tool]
async fn count_to_three(ctx: Context) -> &'static str {
    for i in 1..=3 {
        ctx.progress(f64::from(i), Some(3.0), Some("counting"))
            .await;
    }
    ctx.log(LogLevel::Warning, None, "counted");
    "done"
}

/// A text resource in two parts.
#[resource("first-day://parts", mime_type = "text/plain")]
fn parts() -> Vec<ResourceContents> {
    ["one, ", "two"]
        .into_iter()
        .map(|text| ResourceContents::Text {
            uri: "first-day://parts".into(),
            mime_type: Some("text/plain".into()),
            text: text.into(),
        })
        .collect()
}

#[tokio::test]
async fn client_helpers_gather_progress_and_read_text() {
    let server = Server::empty("first-day").tool(tool_def("count_to_three"));
    let server = mcp_runtime::__private::inventory::iter::<mcp_runtime::ResourceDef>
        .into_iter()
        .filter(|r| r.uri == "first-day://parts")
        .fold(server, |s, r| s.resource(r));
    // `ClientOptions` is in the prelude, as the docs' test snippets use it.
    let c = Client::connect_with(server, ClientOptions::default())
        .await
        .unwrap();
    c.request::<_, serde_json::Value>("logging/setLevel", &json!({"level": "info"}))
        .await
        .unwrap();
    let call = c
        .call_tool_with_progress("count_to_three", json!({}))
        .await
        .unwrap();
    assert_eq!(call.result.text_joined(), "done");
    let steps: Vec<f64> = call
        .progress
        .iter()
        .map(|p| p["progress"].as_f64().unwrap())
        .collect();
    assert_eq!(steps, [1.0, 2.0, 3.0]);
    assert_eq!(call.progress[0]["total"], 3.0);
    assert_eq!(call.progress[0]["message"], "counting");
    assert_eq!(
        call.notifications
            .iter()
            .map(|n| n.method.as_str())
            .collect::<Vec<_>>(),
        ["notifications/message"],
        "the log message is kept, not lost"
    );

    assert_eq!(
        c.read_resource_text("first-day://parts").await.unwrap(),
        "one, two"
    );
}

#[tokio::test]
async fn a_spawned_server_logs_at_warn_unless_rust_log_asks_for_more() {
    let dir = std::env::temp_dir().join(format!("first-day-spawn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let quickstart = mcp_workspace::built_example("quickstart");
    // A wrapper that records the level the server is started with, then becomes it.
    let spawn = |record: &std::path::Path, rust_log: Option<&str>| {
        let mut command = tokio::process::Command::new("sh");
        command.arg("-c").arg(format!(
            "printf %s \"$RUST_LOG\" > '{}'; exec '{}'",
            record.display(),
            quickstart.display()
        ));
        if let Some(level) = rust_log {
            command.env("RUST_LOG", level);
        }
        command
    };
    let inherited = std::env::var("RUST_LOG").ok();

    let quiet = dir.join("quiet");
    let c = Client::spawn(spawn(&quiet, None)).await.unwrap();
    c.ping().await.unwrap();
    c.close().await.unwrap();
    let expected = inherited.clone().unwrap_or_else(|| "warn".into());
    assert_eq!(std::fs::read_to_string(&quiet).unwrap(), expected);

    let asked = dir.join("asked");
    let c = Client::spawn(spawn(&asked, Some("debug"))).await.unwrap();
    c.ping().await.unwrap();
    c.close().await.unwrap();
    assert_eq!(std::fs::read_to_string(&asked).unwrap(), "debug");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- prompts choosing their error

/// Discuss a note.
#[prompt]
fn discuss(name: String) -> Result<String, PromptError> {
    match name.as_str() {
        "" => Err(PromptError::invalid("`name` is empty")),
        "todo" => Ok("Let us talk about the todo list.".into()),
        "broken" => Err(PromptError::new("the notebook is unreadable")),
        other => Err(PromptError::not_found(format!("no note named `{other}`"))),
    }
}

#[tokio::test]
async fn a_prompt_answers_invalid_params_or_not_found_or_an_internal_error() {
    let def = mcp_runtime::__private::inventory::iter::<mcp_runtime::PromptDef>
        .into_iter()
        .find(|p| p.name == "discuss")
        .unwrap();
    let c = Client::connect(Server::empty("first-day").prompt(def))
        .await
        .unwrap();
    let get = |name: &str| {
        let args = std::collections::HashMap::from([("name".to_string(), name.to_string())]);
        let c = &c;
        async move { c.get_prompt("discuss", &args).await }
    };
    assert!(get("todo").await.is_ok());
    for (name, code, message) in [
        ("", -32602, "`name` is empty"),
        ("groceries", -32602, "no note named `groceries`"),
        (
            "broken",
            -32603,
            "prompt `discuss` failed: the notebook is unreadable",
        ),
    ] {
        let e = get(name).await.unwrap_err();
        let e = e.rpc().unwrap();
        assert_eq!((e.code, e.message.as_str()), (code, message), "{name:?}");
    }
}

// ---------------------------------------------------------------- completion with state

struct Topics(Vec<&'static str>);

/// Topics the server knows, from its state; the request's context is there too.
async fn topics(partial: &str, ctx: &mcp_runtime::CompletionContext) -> Vec<String> {
    let client = ctx
        .request()
        .and_then(|r| r.client_info().map(|i| i.name.clone()))
        .unwrap_or_default();
    let Some(topics) = ctx.state::<Topics>() else {
        return vec![format!("no topics for {client}")];
    };
    topics
        .0
        .iter()
        .filter(|t| t.starts_with(partial))
        .map(|t| format!("{t} ({client})"))
        .collect()
}

/// Talk about a topic.
#[prompt]
fn talk(#[arg(complete = topics)] topic: String) -> String {
    format!("Let us talk about {topic}.")
}

#[tokio::test]
async fn completion_functions_reach_the_servers_state_and_the_request() {
    let def = mcp_runtime::__private::inventory::iter::<mcp_runtime::PromptDef>
        .into_iter()
        .find(|p| p.name == "talk")
        .unwrap();
    let server = Server::empty("first-day")
        .prompt(def)
        .state(Topics(vec!["rust", "ruby", "go"]));
    let c = Client::connect(server).await.unwrap();
    let name = c.server_info().name.clone();
    assert_eq!(name, "first-day");
    let done = c
        .complete_prompt_argument("talk", "topic", "ru", &Default::default())
        .await
        .unwrap();
    let client = mcp_runtime::ClientOptions::default().client_info.name;
    assert_eq!(
        done.values,
        [format!("rust ({client})"), format!("ruby ({client})")]
    );
}

// ------------------------------------------- completion functions taking extractors

/// Topics from the state, suffixed with the client's name from the request's `Context`.
async fn topics_by_extractors(partial: &str, topics: State<Topics>, ctx: Context) -> Vec<String> {
    let client = ctx
        .client_info()
        .map(|i| i.name.clone())
        .unwrap_or_default();
    topics
        .0
        .iter()
        .filter(|t| t.starts_with(partial))
        .map(|t| format!("{t} ({client})"))
        .collect()
}

/// Moods from the state (a sync completion function taking only an extractor).
fn moods(partial: &str, topics: State<Topics>) -> Vec<String> {
    vec![format!("{partial}-{}", topics.0.len())]
}

/// Chat about a topic in a mood.
#[prompt]
fn chat(
    #[arg(complete = topics_by_extractors)] topic: String,
    #[arg(complete = moods)] mood: String,
) -> String {
    format!("Let us chat about {topic}, {mood}.")
}

fn chat_def() -> &'static mcp_runtime::PromptDef {
    mcp_runtime::__private::inventory::iter::<mcp_runtime::PromptDef>
        .into_iter()
        .find(|p| p.name == "chat")
        .unwrap()
}

#[tokio::test]
async fn completion_functions_take_state_and_context_as_parameters() {
    let server = Server::empty("first-day")
        .prompt(chat_def())
        .state(Topics(vec!["rust", "ruby", "go"]));
    let c = Client::connect(server).await.unwrap();
    let client = mcp_runtime::ClientOptions::default().client_info.name;
    let done = c
        .complete_prompt_argument("chat", "topic", "ru", &Default::default())
        .await
        .unwrap();
    assert_eq!(
        done.values,
        [format!("rust ({client})"), format!("ruby ({client})")]
    );
    let done = c
        .complete_prompt_argument("chat", "mood", "calm", &Default::default())
        .await
        .unwrap();
    assert_eq!(done.values, ["calm-3"]);
}
