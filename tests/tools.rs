//! `#[tool]` end to end through the in-memory client: schemas for many argument and return
//! types, results, and argument errors.

use std::collections::{BTreeMap, HashMap};

use mcp_runtime::prelude::*;
use mcp_runtime::protocol::Tool;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// ---------------------------------------------------------------- argument types

/// A point on a plane.
#[derive(Debug, Deserialize, Serialize, JsonSchema)]
struct Point {
    /// Horizontal position.
    x: f64,
    /// Vertical position.
    y: f64,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Shape {
    name: String,
    points: Vec<Point>,
    closed: Option<bool>,
    style: Style,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
enum Style {
    Solid,
    Dashed,
}

#[derive(Debug, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Filter {
    ByName { name: String },
    ByAge { min: u32, max: Option<u32> },
}

/// A tree: recursive, so its schema needs a reference.
#[derive(Debug, Deserialize, JsonSchema)]
struct Node {
    label: String,
    children: Vec<Node>,
}

/// Describe a shape.
///
/// # Arguments
/// * `shape` - The shape to describe.
/// * `scale` - Scale factor.
#[tool]
fn describe_shape(shape: Shape, #[arg(default = 1.0)] scale: f64) -> String {
    format!(
        "{} with {} points ({:?}, closed: {:?}) at {scale}x",
        shape.name,
        shape.points.len(),
        shape.style,
        shape.closed
    )
}

/// Search people.
#[tool(name = "search.people", title = "Search people", tags("directory"))]
fn search(
    #[arg(description = "Free text.")] query: String,
    filters: Vec<Filter>,
    limit: Option<u8>,
    #[arg(rename = "sortBy", default)] sort_by: String,
    labels: HashMap<String, String>,
) -> Vec<String> {
    let mut out = vec![format!(
        "q={query} filters={} limit={limit:?} sort={sort_by:?}",
        filters.len()
    )];
    let mut keys: Vec<_> = labels.keys().cloned().collect();
    keys.sort();
    out.extend(keys);
    out
}

/// Count the nodes of a tree.
#[tool]
fn count_nodes(tree: Node) -> usize {
    fn count(n: &Node) -> usize {
        usize::from(!n.label.is_empty()) + n.children.iter().map(count).sum::<usize>()
    }
    count(&tree)
}

/// Toggle a flag.
#[tool]
fn toggle(flag: bool, times: u32) -> bool {
    if times % 2 == 1 { !flag } else { flag }
}

/// Midpoint of two points.
#[tool]
fn midpoint(a: Point, b: Point) -> Point {
    Point {
        x: (a.x + b.x) / 2.0,
        y: (a.y + b.y) / 2.0,
    }
}

/// Histogram of letters.
#[tool]
fn letters(text: String) -> BTreeMap<char, usize> {
    let mut m = BTreeMap::new();
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        *m.entry(c).or_default() += 1;
    }
    m
}

/// Plain text, no structured output.
#[tool(output_schema = false)]
fn shout(text: String) -> String {
    text.to_uppercase()
}

/// Fails with anyhow.
#[tool]
fn parse_number(text: String) -> anyhow::Result<i64> {
    use anyhow::Context as _;
    text.trim()
        .parse::<i64>()
        .with_context(|| format!("`{text}` is not a number"))
}

/// Fails with a std error, through `?` into ToolError.
#[tool]
fn read_missing_file() -> Result<String, ToolError> {
    Ok(std::fs::read_to_string("/definitely/not/here")?)
}

/// Several content blocks.
#[tool]
fn mixed() -> Vec<Content> {
    vec![
        Content::text("hello"),
        Content::image(&[1, 2, 3], "image/png"),
        Content::resource_link("file:///tmp/x.txt", "x.txt"),
        Content::embedded_text("memo://1", Some("text/plain"), "remember"),
    ]
}

/// Returns nothing.
#[tool]
fn noop() {}

/// Returns audio.
#[tool]
fn beep() -> Audio {
    Audio::wav(vec![0u8; 4])
}

/// Panics.
#[tool]
fn explode() -> i32 {
    panic!("kaboom")
}

/// Runs on the blocking pool.
#[tool(blocking)]
fn heavy(n: u64) -> u64 {
    (1..=n).sum()
}

/// Takes no arguments at all.
#[tool]
fn nothing() -> &'static str {
    "nothing"
}

/// Uses the request context.
#[tool]
fn whoami(ctx: Context) -> String {
    format!(
        "{} speaking {}",
        ctx.client_info().map(|c| c.name.as_str()).unwrap_or("?"),
        ctx.protocol_version()
    )
}

// ---------------------------------------------------------------- helpers

async fn client() -> Client {
    Client::connect(Server::new("tools-test"))
        .await
        .expect("connect")
}

async fn tool(client: &Client, name: &str) -> Tool {
    client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no tool {name}"))
}

fn has_ref(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.contains_key("$ref") || m.values().any(has_ref),
        Value::Array(a) => a.iter().any(has_ref),
        _ => false,
    }
}

fn has_null_type(v: &Value) -> bool {
    match v {
        Value::Object(m) => {
            m.get("type").is_some_and(|t| {
                t == "null" || t.as_array().is_some_and(|a| a.contains(&json!("null")))
            }) || m.values().any(has_null_type)
        }
        Value::Array(a) => a.iter().any(has_null_type),
        _ => false,
    }
}

// ---------------------------------------------------------------- schemas

#[tokio::test]
async fn nested_structs_and_enums_are_inlined() {
    let c = client().await;
    let t = tool(&c, "describe_shape").await;
    let s = Value::Object(t.input_schema);
    assert_eq!(t.description.as_deref(), Some("Describe a shape."));
    assert!(!has_ref(&s), "no $ref expected: {s:#}");
    assert!(s.get("$defs").is_none());
    assert_eq!(s["type"], "object");
    assert_eq!(s["additionalProperties"], false);
    assert_eq!(s["required"], json!(["shape"]));
    let shape = &s["properties"]["shape"];
    assert_eq!(shape["description"], "The shape to describe.");
    assert_eq!(shape["type"], "object");
    assert_eq!(
        shape["additionalProperties"], false,
        "deny_unknown_fields is kept"
    );
    assert_eq!(shape["properties"]["points"]["type"], "array");
    assert_eq!(
        shape["properties"]["points"]["items"]["properties"]["x"]["description"],
        "Horizontal position."
    );
    assert_eq!(
        shape["properties"]["style"]["enum"],
        json!(["solid", "dashed"])
    );
    assert_eq!(s["properties"]["scale"]["default"], 1.0);
    assert_eq!(s["properties"]["scale"]["description"], "Scale factor.");
}

#[tokio::test]
async fn options_vectors_maps_renames_and_tagged_enums() {
    let c = client().await;
    let t = tool(&c, "search.people").await;
    assert_eq!(t.title.as_deref(), Some("Search people"));
    let s = Value::Object(t.input_schema);
    assert!(!has_ref(&s));
    let mut required: Vec<&str> = s["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort();
    assert_eq!(required, ["filters", "labels", "query"]);
    let props = &s["properties"];
    assert_eq!(props["query"]["description"], "Free text.");
    assert_eq!(
        props["limit"]["type"], "integer",
        "Option<u8> is the schema of u8: {}",
        props["limit"]
    );
    assert!(!has_null_type(&props["limit"]));
    assert_eq!(props["labels"]["type"], "object");
    assert_eq!(props["labels"]["additionalProperties"]["type"], "string");
    assert!(props.get("sort_by").is_none());
    assert_eq!(props["sortBy"]["default"], "");
    let filters = &props["filters"]["items"];
    assert!(
        filters.get("oneOf").is_some() || filters.get("anyOf").is_some(),
        "{filters}"
    );
}

#[tokio::test]
async fn recursive_types_use_defs() {
    let c = client().await;
    let s = Value::Object(tool(&c, "count_nodes").await.input_schema);
    assert!(has_ref(&s), "a recursive type needs a reference: {s:#}");
    let defs = s["$defs"].as_object().expect("$defs at the root");
    assert!(defs.contains_key("Node"), "{s:#}");
    let r = c
        .call_tool(
            "count_nodes",
            json!({"tree": {"label": "a", "children": [{"label": "b", "children": []}]}}),
        )
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"result": 2})));
}

#[tokio::test]
async fn no_argument_tools_have_a_closed_object_schema() {
    let c = client().await;
    let t = tool(&c, "nothing").await;
    assert_eq!(
        Value::Object(t.input_schema),
        json!({"type": "object", "properties": {}, "additionalProperties": false})
    );
    let r = c.call_tool("nothing", json!({})).await.unwrap();
    assert_eq!(r.content[0].as_text(), Some("nothing"));
    // `arguments` may be left out entirely.
    let r: mcp_runtime::CallToolResult = c
        .request("tools/call", &json!({"name": "nothing"}))
        .await
        .unwrap();
    assert!(!r.is_error);
}

#[tokio::test]
async fn extractors_do_not_appear_in_the_schema() {
    let c = client().await;
    let t = tool(&c, "whoami").await;
    assert_eq!(t.input_schema["properties"], json!({}));
    let r = c.call_tool("whoami", json!({})).await.unwrap();
    assert_eq!(
        r.content[0].as_text(),
        Some("mcp-runtime-client speaking 2025-11-25")
    );
}

// ---------------------------------------------------------------- results

#[tokio::test]
async fn structured_output_wraps_non_objects() {
    let c = client().await;
    let t = tool(&c, "toggle").await;
    let out = Value::Object(t.output_schema.expect("output schema"));
    assert_eq!(out["properties"]["result"]["type"], "boolean");
    let r = c
        .call_tool("toggle", json!({"flag": true, "times": 3}))
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"result": false})));
    assert_eq!(r.content[0].as_text(), Some("false"));

    let t = tool(&c, "search.people").await;
    assert_eq!(
        t.output_schema.unwrap()["properties"]["result"]["type"],
        "array"
    );
}

#[tokio::test]
async fn structured_output_keeps_objects_as_they_are() {
    let c = client().await;
    let t = tool(&c, "midpoint").await;
    let out = Value::Object(t.output_schema.unwrap());
    assert_eq!(out["type"], "object");
    assert_eq!(out["properties"]["x"]["type"], "number");
    let r = c
        .call_tool(
            "midpoint",
            json!({"a": {"x": 0, "y": 0}, "b": {"x": 2, "y": 4}}),
        )
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"x": 1.0, "y": 2.0})));
    let text: Value = serde_json::from_str(r.content[0].as_text().unwrap()).unwrap();
    assert_eq!(
        text,
        json!({"x": 1.0, "y": 2.0}),
        "the text block carries the same JSON"
    );

    let r = c
        .call_tool("letters", json!({"text": "abba"}))
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"a": 2, "b": 2})));
}

#[tokio::test]
async fn output_schema_false_means_text_only() {
    let c = client().await;
    assert!(tool(&c, "shout").await.output_schema.is_none());
    let r = c.call_tool("shout", json!({"text": "hi"})).await.unwrap();
    assert_eq!(r.structured_content, None);
    assert_eq!(r.content[0].as_text(), Some("HI"));
}

#[tokio::test]
async fn errors_become_tool_execution_errors() {
    let c = client().await;
    let r = c
        .call_tool("parse_number", json!({"text": "x1"}))
        .await
        .unwrap();
    assert!(r.is_error);
    let text = r.content[0].as_text().unwrap();
    assert!(
        text.starts_with("`x1` is not a number: invalid digit"),
        "{text}"
    );
    assert_eq!(r.structured_content, None);

    let r = c
        .call_tool("parse_number", json!({"text": " 42 "}))
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"result": 42})));

    let r = c.call_tool("read_missing_file", json!({})).await.unwrap();
    assert!(r.is_error);
    assert!(
        r.content[0].as_text().unwrap().contains("No such file"),
        "{r:?}"
    );
}

#[tokio::test]
async fn content_returns_pass_through() {
    let c = client().await;
    assert!(tool(&c, "mixed").await.output_schema.is_none());
    let r = c.call_tool("mixed", json!({})).await.unwrap();
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["content"][0], json!({"type": "text", "text": "hello"}));
    assert_eq!(
        v["content"][1],
        json!({"type": "image", "data": "AQID", "mimeType": "image/png"})
    );
    assert_eq!(
        v["content"][2],
        json!({"type": "resource_link", "uri": "file:///tmp/x.txt", "name": "x.txt"})
    );
    assert_eq!(
        v["content"][3],
        json!({"type": "resource", "resource": {"uri": "memo://1", "mimeType": "text/plain", "text": "remember"}})
    );
    let r = c.call_tool("noop", json!({})).await.unwrap();
    assert!(r.content.is_empty() && !r.is_error);
    let r = serde_json::to_value(c.call_tool("beep", json!({})).await.unwrap()).unwrap();
    assert_eq!(
        r["content"][0],
        json!({"type": "audio", "data": "AAAAAA==", "mimeType": "audio/wav"})
    );
}

#[tokio::test]
async fn a_panicking_tool_is_an_error_result_and_the_server_lives_on() {
    let c = client().await;
    let r = c.call_tool("explode", json!({})).await.unwrap();
    assert!(r.is_error);
    // The client hears that something failed, not what: the panic's message is the log's.
    let text = r.content[0].as_text().unwrap();
    assert_eq!(
        text,
        "internal error in tool `explode` (the server log has the details)"
    );
    c.ping().await.unwrap();
    let shown = Client::connect(Server::new("tools-test").show_panic_details(true))
        .await
        .unwrap();
    let r = shown.call_tool("explode", json!({})).await.unwrap();
    let text = r.content[0].as_text().unwrap();
    assert!(
        text.starts_with("internal error in tool `explode`: ") && text.contains("kaboom"),
        "{text}"
    );
    let r = c.call_tool("heavy", json!({"n": 100})).await.unwrap();
    assert_eq!(r.structured_content, Some(json!({"result": 5050})));
}

// ---------------------------------------------------------------- argument errors

async fn error_text(c: &Client, tool: &str, args: Value) -> String {
    let r = c.call_tool(tool, args).await.unwrap();
    assert!(r.is_error, "expected an error result: {r:?}");
    r.content[0].as_text().unwrap().to_string()
}

#[tokio::test]
async fn invalid_arguments_name_the_argument_and_what_was_expected() {
    let c = client().await;
    let t = error_text(&c, "toggle", json!({"flag": "maybe", "times": 1})).await;
    assert!(
        t.contains("tool `toggle`")
            && t.contains("`flag`: invalid type: string \"maybe\", expected a boolean"),
        "{t}"
    );
    let t = error_text(&c, "toggle", json!({"flag": true})).await;
    assert!(
        t.contains("missing required argument `times` (expected an integer)"),
        "{t}"
    );
    let t = error_text(&c, "toggle", json!({"flag": true, "times": 1, "extra": 0})).await;
    assert!(
        t.contains("unknown argument `extra` (accepted: `flag`, `times`)"),
        "{t}"
    );
    let t = error_text(&c, "toggle", json!({"flag": null, "times": -1})).await;
    assert!(
        t.contains("`flag`") && t.contains("`times`"),
        "every problem is reported at once: {t}"
    );
    let t = error_text(&c, "nothing", json!({"x": 1})).await;
    assert!(t.contains("this tool takes no arguments"), "{t}");
    let t = error_text(
        &c,
        "describe_shape",
        json!({"shape": {"name": "s", "points": [], "style": "wavy"}}),
    )
    .await;
    assert!(
        t.contains("`shape.style`: unknown variant `wavy`, expected `solid` or `dashed`"),
        "{t}"
    );
    let t = error_text(
        &c,
        "describe_shape",
        json!({"shape": {"name": "s", "points": [], "style": "solid", "color": 1}}),
    )
    .await;
    assert!(t.contains("unknown field `color`"), "{t}");
    // Inside a nested value the problem names the path to the part that failed.
    let t = error_text(
        &c,
        "describe_shape",
        json!({"shape": {"name": "s", "points": [{"x": 1, "y": 2}, {"x": 3, "y": [4]}], "style": "solid"}}),
    )
    .await;
    assert!(
        t.contains("`shape.points[1].y`: invalid type: sequence, expected f64"),
        "{t}"
    );
    let t = error_text(
        &c,
        "midpoint",
        json!({"a": {"x": 1, "y": 2}, "b": {"x": true, "y": 0}}),
    )
    .await;
    assert!(
        t.contains("`b.x`: invalid type: boolean `true`, expected f64"),
        "{t}"
    );
}

#[tokio::test]
async fn numbers_and_booleans_sent_as_strings_are_accepted() {
    let c = client().await;
    let r = c
        .call_tool("toggle", json!({"flag": "true", "times": "2"}))
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"result": true})));
    let r = c
        .call_tool(
            "midpoint",
            json!({"a": {"x": "1", "y": 0}, "b": {"x": 3, "y": "2.5"}}),
        )
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"x": 2.0, "y": 1.25})));
    // A string where a string is expected is never touched.
    let r = c.call_tool("shout", json!({"text": "5"})).await.unwrap();
    assert_eq!(r.content[0].as_text(), Some("5"));
}

#[tokio::test]
async fn optional_arguments_accept_absence_and_null() {
    let c = client().await;
    let args = json!({"query": "q", "filters": [{"kind": "by_age", "min": 3}], "labels": {"b": "1", "a": "2"}});
    let r = c.call_tool("search.people", args.clone()).await.unwrap();
    assert_eq!(
        r.structured_content,
        Some(json!({"result": ["q=q filters=1 limit=None sort=\"\"", "a", "b"]}))
    );
    let mut with_null = args;
    with_null["limit"] = Value::Null;
    with_null["sortBy"] = json!("age");
    let r = c.call_tool("search.people", with_null).await.unwrap();
    assert_eq!(
        r.structured_content.unwrap()["result"][0],
        "q=q filters=1 limit=None sort=\"age\""
    );
}

#[tokio::test]
async fn unknown_tools_are_protocol_errors() {
    let c = client().await;
    let e = c.call_tool("nope", json!({})).await.unwrap_err();
    let e = e.rpc().expect("a JSON-RPC error");
    assert_eq!(e.code, -32602);
    assert!(e.message.contains("`nope`"));
    let e = c
        .request::<_, Value>("tools/call", &json!({"arguments": {}}))
        .await
        .unwrap_err();
    assert_eq!(e.rpc().unwrap().code, -32602);
    assert!(e.rpc().unwrap().message.contains("name"), "{e}");
}

/// An extractor of our own: the client's name, refused for anonymous clients.
struct ClientName(String);

impl mcp_runtime::FromContext for ClientName {
    fn from_context(ctx: &Context) -> Result<Self, String> {
        match ctx.client_info() {
            Some(info) if info.name != "anonymous" => Ok(ClientName(info.name.clone())),
            _ => Err("this tool needs a named client".into()),
        }
    }
}

/// Greet the client by name.
#[tool]
fn greet_client(who: ClientName, greeting: String) -> String {
    format!("{greeting}, {}", who.0)
}

#[tokio::test]
async fn user_defined_extractors_are_injected_and_can_refuse() {
    let c = client().await;
    let t = tool(&c, "greet_client").await;
    assert_eq!(
        t.input_schema["required"],
        json!(["greeting"]),
        "extractors are not arguments"
    );
    let r = c
        .call_tool("greet_client", json!({"greeting": "Hi"}))
        .await
        .unwrap();
    assert_eq!(r.content[0].as_text(), Some("Hi, mcp-runtime-client"));

    let anon = Client::connect_with(
        Server::new("tools-test"),
        mcp_runtime::ClientOptions {
            client_info: mcp_runtime::protocol::Implementation {
                name: "anonymous".into(),
                version: "1".into(),
                ..Default::default()
            },
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let t = error_text(&anon, "greet_client", json!({"greeting": "Hi"})).await;
    assert!(t.contains("`who`: this tool needs a named client"), "{t}");
}
