//! Resources, templates, prompts, completion, subscriptions and run-time changes, through the
//! in-memory client.

use std::collections::HashMap;
use std::time::Duration;

use mcp_runtime::__private as private;
use mcp_runtime::prelude::*;
use mcp_runtime::protocol::ProtocolVersion;
use mcp_runtime::{ClientOptions, ResourceDef, Role};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// ---------------------------------------------------------------- resources

/// The app's configuration.
#[resource(
    "config://app",
    title = "App config",
    annotations(audience = ["user"], priority = 0.5, last_modified = "2025-01-12T15:00:58Z"),
    icon = "https://example.com/cfg.png",
    meta(owner = "ops"),
    tags("config")
)]
fn app_config() -> Json<serde_json::Value> {
    Json(json!({"debug": true}))
}

/// Raw bytes.
#[resource("bin://raw")]
fn raw() -> Vec<u8> {
    vec![0, 1, 2, 255]
}

/// Bytes, the `bytes` way.
#[resource("bin://shared", mime_type = "application/x-test")]
fn shared() -> mcp_runtime::Bytes {
    mcp_runtime::Bytes::from_static(b"hi")
}

/// Two contents at once.
#[resource("multi://both")]
fn both() -> Vec<ResourceContents> {
    vec![
        ResourceContents::Text {
            uri: "multi://both#a".into(),
            mime_type: None,
            text: "a".into(),
        },
        ResourceContents::Blob {
            uri: "multi://both#b".into(),
            mime_type: Some("image/png".into()),
            blob: "AA==".into(),
        },
    ]
}

/// Always fails.
#[resource("broken://always")]
fn broken() -> Result<String, std::io::Error> {
    Err(std::io::Error::other("the disk is on fire"))
}

/// Waits before answering, and sees its request.
#[resource("slow://ctx")]
async fn slow(ctx: Context) -> String {
    tokio::time::sleep(Duration::from_millis(5)).await;
    format!("request {}", ctx.request_id())
}

#[derive(Debug, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Size {
    Small,
    Large,
}

/// A user's profile.
#[resource("users://{id}/profile")]
fn profile(#[arg(complete = user_ids)] id: u64) -> Result<String, ResourceError> {
    if id == 404 {
        return Err(ResourceError::not_found(format!("users://{id}/profile")));
    }
    Ok(format!("user {id}"))
}

fn user_ids(partial: &str, context: &CompletionContext) -> Vec<String> {
    let team = context.get("team").unwrap_or("none");
    (1..=250)
        .map(|i| i.to_string())
        .filter(|i| i.starts_with(partial))
        .map(|i| format!("{i}@{team}"))
        .collect()
}

/// A file, path and all.
#[resource("files://{+path}")]
fn file(path: String) -> String {
    format!("path={path}")
}

/// Sums an exploded path.
#[resource("sum://total{/n*}")]
fn sum(n: Vec<i64>) -> String {
    n.iter().sum::<i64>().to_string()
}

/// Query variables.
#[resource("search://items{?q,size,page}")]
async fn search(
    #[arg(complete = sizes)] q: String,
    size: Option<Size>,
    #[arg(default = 1)] page: u32,
) -> String {
    format!("q={q} size={size:?} page={page}")
}

async fn sizes(partial: &str, _: &CompletionContext) -> Result<Vec<&'static str>, String> {
    tokio::task::yield_now().await;
    if partial == "boom" {
        return Err("no sizes today".into());
    }
    Ok(vec!["small", "large"])
}

/// A tool, to switch off and on.
#[tool]
fn unused() -> &'static str {
    "here"
}

// ---------------------------------------------------------------- prompts

/// Say hello.
#[prompt(title = "Greeting")]
fn greet(name: String, #[arg(description = "How loud")] times: Option<u8>) -> String {
    format!("Hello {name}{}", "!".repeat(times.unwrap_or(1).into()))
}

/// No arguments at all.
#[prompt(name = "static-prompt")]
fn static_prompt() -> &'static str {
    "a fixed prompt"
}

/// A conversation.
#[prompt]
async fn conversation(
    #[arg(complete = topics)] topic: String,
    #[arg(default = "en".to_string())] lang: String,
    ctx: Context,
) -> Vec<PromptMessage> {
    let _ = ctx.request_id();
    vec![
        PromptMessage::user(format!("Talk about {topic} in {lang}")),
        PromptMessage::assistant(Content::image(&[1, 2, 3], "image/png")),
        PromptMessage::user(Content::embedded_text("notes://x", Some("text/plain"), "x")),
    ]
}

fn topics(partial: &str, context: &CompletionContext) -> Completion {
    let mut c = Completion::new(
        ["rust", "ruby", "go"]
            .into_iter()
            .filter(|t| t.starts_with(partial)),
    );
    if context.argument() != "topic" {
        c.values.clear();
    }
    c
}

/// Fails.
#[prompt]
fn failing(reason: String) -> Result<GetPromptResult, String> {
    Err(format!("cannot: {reason}"))
}

/// Its own description.
#[prompt]
fn described() -> GetPromptResult {
    GetPromptResult::new(vec![PromptMessage::user("x")]).description("rendered")
}

// ---------------------------------------------------------------- helpers

async fn connect_version(version: &str) -> Client {
    Client::connect_with(
        Server::new("catalog"),
        ClientOptions {
            protocol_version: version.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

async fn connect() -> Client {
    connect_version("2025-11-25").await
}

fn text(contents: &[ResourceContents]) -> &str {
    match &contents[0] {
        ResourceContents::Text { text, .. } => text,
        other => panic!("not text: {other:?}"),
    }
}

async fn read_error(c: &Client, uri: &str) -> mcp_runtime::protocol::ErrorObject {
    c.read_resource(uri)
        .await
        .unwrap_err()
        .rpc()
        .unwrap()
        .clone()
}

fn args(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn resources_and_templates_are_listed_in_uri_order_with_their_options() {
    let c = connect().await;
    let uris: Vec<String> = c
        .list_all_resources()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.uri)
        .collect();
    assert_eq!(
        uris,
        [
            "bin://raw",
            "bin://shared",
            "broken://always",
            "config://app",
            "multi://both",
            "slow://ctx"
        ]
    );
    let raw: Value = c.request("resources/list", &json!({})).await.unwrap();
    let config = &raw["resources"][3];
    assert_eq!(
        config,
        &json!({
            "uri": "config://app",
            "name": "app_config",
            "title": "App config",
            "description": "The app's configuration.",
            "mimeType": "application/json",
            "annotations": {"audience": ["user"], "priority": 0.5, "lastModified": "2025-01-12T15:00:58Z"},
            "icons": [{"src": "https://example.com/cfg.png"}],
            "_meta": {"owner": "ops"}
        })
    );
    assert_eq!(raw["resources"][1]["mimeType"], "application/x-test");
    assert_eq!(raw["resources"][0]["mimeType"], "application/octet-stream");

    let templates = c.list_all_resource_templates().await.unwrap();
    let t: Vec<&str> = templates.iter().map(|t| t.uri_template.as_str()).collect();
    assert_eq!(
        t,
        [
            "files://{+path}",
            "search://items{?q,size,page}",
            "sum://total{/n*}",
            "users://{id}/profile"
        ]
    );
    assert_eq!(templates[3].name, "profile");
    assert_eq!(
        templates[3].description.as_deref(),
        Some("A user's profile.")
    );
}

#[tokio::test]
async fn older_revisions_get_only_the_fields_they_define() {
    let c = connect_version("2025-03-26").await;
    let raw: Value = c.request("resources/list", &json!({})).await.unwrap();
    let config = &raw["resources"][3];
    assert!(config.get("title").is_none());
    assert!(config.get("icons").is_none());
    assert!(config.get("_meta").is_none());
    assert!(config["annotations"].get("lastModified").is_none());
    assert_eq!(config["annotations"]["priority"], 0.5);
    let raw: Value = c.request("prompts/list", &json!({})).await.unwrap();
    let greet = raw["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "greet")
        .unwrap();
    assert!(greet.get("title").is_none());
}

#[tokio::test]
async fn lists_are_paginated() {
    let c = Client::connect(Server::new("paged").page_size(4))
        .await
        .unwrap();
    let first = c.list_resources(None).await.unwrap();
    assert_eq!(first.resources.len(), 4);
    let second = c
        .list_resources(first.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!(second.resources.len(), 2);
    assert!(second.next_cursor.is_none());
    assert_eq!(c.list_all_resources().await.unwrap().len(), 6);
    assert_eq!(c.list_all_prompts().await.unwrap().len(), 5);
    let page = c.list_resource_templates(None).await.unwrap();
    assert_eq!(page.resource_templates.len(), 4);
    assert!(page.next_cursor.is_none());
    let e = c.list_prompts(Some("banana")).await.unwrap_err();
    assert_eq!(e.rpc().unwrap().code, -32602);
}

#[tokio::test]
async fn reads_return_text_blobs_json_and_several_contents() {
    let c = connect().await;
    let json_contents = c.read_resource("config://app").await.unwrap();
    assert!(matches!(&json_contents[0],
        ResourceContents::Text { uri, mime_type, text }
            if uri == "config://app" && mime_type.as_deref() == Some("application/json")
            && serde_json::from_str::<Value>(text).unwrap() == json!({"debug": true})));
    assert!(matches!(&c.read_resource("bin://raw").await.unwrap()[0],
        ResourceContents::Blob { blob, mime_type, .. }
            if blob == "AAEC/w==" && mime_type.as_deref() == Some("application/octet-stream")));
    assert!(matches!(&c.read_resource("bin://shared").await.unwrap()[0],
        ResourceContents::Blob { blob, mime_type, .. }
            if blob == "aGk=" && mime_type.as_deref() == Some("application/x-test")));
    assert_eq!(c.read_resource("multi://both").await.unwrap().len(), 2);
    let slow = c.read_resource("slow://ctx").await.unwrap();
    assert!(text(&slow).starts_with("request "), "{slow:?}");
}

#[tokio::test]
async fn template_variables_of_every_kind_bind_to_parameters() {
    let c = connect().await;
    let read = |uri: &'static str| {
        let c = &c;
        async move { text(&c.read_resource(uri).await.unwrap()).to_string() }
    };
    assert_eq!(read("users://42/profile").await, "user 42");
    assert_eq!(read("files://a/b%20c/d.txt").await, "path=a/b c/d.txt");
    assert_eq!(read("sum://total/1/2/39").await, "42");
    assert_eq!(read("sum://total/7").await, "7");
    assert_eq!(
        read("search://items?q=hat&size=large").await,
        "q=hat size=Some(Large) page=1"
    );
    assert_eq!(
        read("search://items?page=3&q=a%26b").await,
        "q=a&b size=None page=3"
    );
}

#[tokio::test]
async fn read_errors_name_what_went_wrong() {
    let c = connect().await;
    let e = read_error(&c, "nothing://here").await;
    assert_eq!(e.code, -32002);
    assert_eq!(e.data, Some(json!({"uri": "nothing://here"})));

    let e = read_error(&c, "users://404/profile").await;
    assert_eq!(e.code, -32002, "a handler's not-found keeps its code");
    assert_eq!(e.data, Some(json!({"uri": "users://404/profile"})));

    let e = read_error(&c, "users://abc/profile").await;
    assert_eq!(e.code, -32602);
    assert!(
        e.message.contains("template variable `id`"),
        "{}",
        e.message
    );
    assert!(e.message.contains("\"abc\""), "{}", e.message);

    let e = read_error(&c, "search://items?size=huge").await;
    assert_eq!(e.code, -32602);
    assert!(
        e.message.contains("`q`"),
        "missing q is named: {}",
        e.message
    );
    assert!(
        e.message.contains("`size`"),
        "bad size is named: {}",
        e.message
    );

    let e = read_error(&c, "broken://always").await;
    assert_eq!(e.code, -32603);
    assert!(e.message.contains("the disk is on fire"), "{}", e.message);
}

#[tokio::test]
async fn subscribers_hear_about_updates_and_unsubscribing_stops_them() {
    let server = Server::new("subs");
    let handle = server.handle();
    assert_eq!(handle.notify_resource_updated("config://app"), 0);
    let c = Client::connect(server).await.unwrap();
    c.subscribe("config://app").await.unwrap();
    assert_eq!(handle.notify_resource_updated("config://app"), 1);
    assert_eq!(handle.notify_resource_updated("bin://raw"), 0);
    let n = c.next_notification().await.unwrap();
    assert_eq!(n.method, "notifications/resources/updated");
    assert_eq!(n.params, json!({"uri": "config://app"}));
    c.unsubscribe("config://app").await.unwrap();
    assert_eq!(handle.notify_resource_updated("config://app"), 0);
}

// A resource and a prompt written by hand, to add at run time.
fn hand_read(read: private::ResourceRead<'_>) -> private::ResourceFuture {
    let uri = read.uri().to_string();
    private::ResourceFuture::ready(Ok(vec![ResourceContents::Text {
        uri,
        mime_type: None,
        text: "by hand".into(),
    }]))
}

static HAND_RESOURCE: ResourceDef = ResourceDef {
    uri: "hand://made",
    name: "hand",
    title: None,
    description: Some("Made by hand."),
    mime_type: None,
    size: None,
    annotations: mcp_runtime::ResourceAnnotations::NONE,
    icons: &[],
    meta: None,
    tags: &[],
    module_path: module_path!(),
    location: (file!(), line!()),
    variables: &[],
    handler: hand_read,
    scopes: None,
    states: Vec::new,
};

async fn next_method(c: &Client) -> String {
    tokio::time::timeout(Duration::from_secs(5), c.next_notification())
        .await
        .expect("a notification arrives")
        .unwrap()
        .method
}

#[tokio::test]
async fn items_added_removed_enabled_and_disabled_at_run_time_are_announced() {
    let server = Server::new("live");
    let handle = server.handle();
    assert!(!handle.disable_prompt("greet"), "nothing runs yet");
    assert!(handle.add_resource(&HAND_RESOURCE).is_err());
    let c = Client::connect(server).await.unwrap();

    assert!(handle.disable_prompt("greet"));
    assert_eq!(next_method(&c).await, "notifications/prompts/list_changed");
    assert!(!handle.disable_prompt("greet"), "already disabled");
    let names: Vec<String> = c
        .list_all_prompts()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert!(!names.contains(&"greet".to_string()));
    let e = c
        .get_prompt("greet", &args(&[("name", "x")]))
        .await
        .unwrap_err();
    assert_eq!(e.rpc().unwrap().code, -32602);
    assert!(handle.enable_prompt("greet"));
    assert_eq!(next_method(&c).await, "notifications/prompts/list_changed");
    c.get_prompt("greet", &args(&[("name", "x")]))
        .await
        .unwrap();

    handle.add_resource(&HAND_RESOURCE).unwrap();
    assert_eq!(
        next_method(&c).await,
        "notifications/resources/list_changed"
    );
    assert_eq!(
        text(&c.read_resource("hand://made").await.unwrap()),
        "by hand"
    );
    let dup = handle.add_resource(&HAND_RESOURCE).unwrap_err();
    assert!(dup.contains("hand://made"), "{dup}");
    assert!(handle.disable_resource("users://{id}/profile"));
    assert_eq!(
        next_method(&c).await,
        "notifications/resources/list_changed"
    );
    assert_eq!(read_error(&c, "users://1/profile").await.code, -32002);
    assert!(handle.remove_resource("hand://made"));
    assert_eq!(
        next_method(&c).await,
        "notifications/resources/list_changed"
    );
    assert_eq!(read_error(&c, "hand://made").await.code, -32002);
    assert!(!handle.remove_resource("hand://made"));
    assert!(!handle.remove_prompt("nope"));

    assert!(handle.disable_tool("unused"));
    assert_eq!(next_method(&c).await, "notifications/tools/list_changed");
    assert!(c.list_all_tools().await.unwrap().is_empty());
    assert!(handle.enable_tool("unused"));
    assert_eq!(next_method(&c).await, "notifications/tools/list_changed");
    assert_eq!(c.list_all_tools().await.unwrap().len(), 1);
}

#[tokio::test]
async fn prompts_list_their_arguments() {
    let c = connect().await;
    let prompts = c.list_all_prompts().await.unwrap();
    let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "conversation",
            "described",
            "failing",
            "greet",
            "static-prompt"
        ]
    );
    let greet = &prompts[3];
    assert_eq!(greet.title.as_deref(), Some("Greeting"));
    assert_eq!(greet.description.as_deref(), Some("Say hello."));
    let a: Vec<(&str, bool, Option<&str>)> = greet
        .arguments
        .iter()
        .map(|a| (a.name.as_str(), a.required, a.description.as_deref()))
        .collect();
    assert_eq!(
        a,
        [("name", true, None), ("times", false, Some("How loud"))]
    );
    let conv = &prompts[0];
    let a: Vec<(&str, bool)> = conv
        .arguments
        .iter()
        .map(|a| (a.name.as_str(), a.required))
        .collect();
    assert_eq!(
        a,
        [("topic", true), ("lang", false)],
        "extractors are not listed"
    );
    assert!(prompts[4].arguments.is_empty());
}

#[tokio::test]
async fn prompts_render_strings_messages_and_results() {
    let c = connect().await;
    let r = c
        .get_prompt("greet", &args(&[("name", "Ada"), ("times", "3")]))
        .await
        .unwrap();
    assert_eq!(r.description.as_deref(), Some("Say hello."));
    assert_eq!(r.messages.len(), 1);
    assert_eq!(r.messages[0].role, Role::User);
    assert_eq!(r.messages[0].content.as_text(), Some("Hello Ada!!!"));

    let r = c
        .get_prompt("static-prompt", &HashMap::new())
        .await
        .unwrap();
    assert_eq!(r.messages[0].content.as_text(), Some("a fixed prompt"));

    let r = c
        .get_prompt("conversation", &args(&[("topic", "rust")]))
        .await
        .unwrap();
    assert_eq!(r.messages.len(), 3);
    assert_eq!(
        r.messages[0].content.as_text(),
        Some("Talk about rust in en")
    );
    assert_eq!(r.messages[1].role, Role::Assistant);
    assert!(matches!(r.messages[1].content, Content::Image { .. }));
    assert!(matches!(r.messages[2].content, Content::Resource { .. }));

    let r = c.get_prompt("described", &HashMap::new()).await.unwrap();
    assert_eq!(r.description.as_deref(), Some("rendered"));

    // Arguments sent as JSON numbers are read as their text.
    let r: Value = c
        .request(
            "prompts/get",
            &json!({"name": "greet", "arguments": {"name": "B", "times": 2}}),
        )
        .await
        .unwrap();
    assert_eq!(r["messages"][0]["content"]["text"], "Hello B!!");
}

#[tokio::test]
async fn prompt_errors_name_the_argument() {
    let c = connect().await;
    let e = c.get_prompt("greet", &HashMap::new()).await.unwrap_err();
    let e = e.rpc().unwrap();
    assert_eq!(e.code, -32602);
    assert!(
        e.message.contains("missing required argument `name`"),
        "{}",
        e.message
    );

    let e = c
        .get_prompt("greet", &args(&[("name", "x"), ("times", "lots")]))
        .await
        .unwrap_err();
    let e = e.rpc().unwrap();
    assert_eq!(e.code, -32602);
    assert!(e.message.contains("argument `times`"), "{}", e.message);
    assert!(e.message.contains("\"lots\""), "{}", e.message);

    let e = c
        .get_prompt("greet", &args(&[("name", "x"), ("colour", "red")]))
        .await
        .unwrap_err();
    assert!(
        e.rpc()
            .unwrap()
            .message
            .contains("unknown argument `colour`")
    );

    let e = c.get_prompt("nope", &HashMap::new()).await.unwrap_err();
    assert_eq!(e.rpc().unwrap().code, -32602);
    assert!(e.rpc().unwrap().message.contains("nope"));

    let e = c
        .get_prompt("failing", &args(&[("reason", "tired")]))
        .await
        .unwrap_err();
    let e = e.rpc().unwrap();
    assert_eq!(e.code, -32603);
    assert!(
        e.message.contains("prompt `failing` failed: cannot: tired"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn completion_suggests_prompt_arguments_and_template_variables() {
    let c = connect().await;
    let none = HashMap::new();
    let r = c
        .complete_prompt_argument("conversation", "topic", "r", &none)
        .await
        .unwrap();
    assert_eq!(r.values, ["rust", "ruby"]);
    assert_eq!(r.total, None);
    assert!(!r.has_more);

    let r = c
        .complete_prompt_argument("greet", "name", "A", &none)
        .await
        .unwrap();
    assert!(r.values.is_empty(), "no completion function, no values");

    // More than 100 values are cut, with the total; the context reaches the function.
    let r = c
        .complete_template_variable("users://{id}/profile", "id", "", &args(&[("team", "red")]))
        .await
        .unwrap();
    assert_eq!(r.values.len(), 100);
    assert_eq!(r.values[0], "1@red");
    assert_eq!(r.total, Some(250));
    assert!(r.has_more);

    let r = c
        .complete_template_variable("search://items{?q,size,page}", "q", "", &none)
        .await
        .unwrap();
    assert_eq!(
        r.values,
        ["small", "large"],
        "async completion functions work"
    );
    let e = c
        .complete_template_variable("search://items{?q,size,page}", "q", "boom", &none)
        .await
        .unwrap_err();
    assert_eq!(e.rpc().unwrap().code, -32603);
    assert!(e.rpc().unwrap().message.contains("no sizes today"));

    for (reference, argument) in [
        (json!({"type": "ref/prompt", "name": "nope"}), "x"),
        (json!({"type": "ref/prompt", "name": "greet"}), "nope"),
        (json!({"type": "ref/resource", "uri": "nope://{x}"}), "x"),
        (
            json!({"type": "ref/resource", "uri": "users://{id}/profile"}),
            "nope",
        ),
    ] {
        let e = c
            .request::<_, Value>(
                "completion/complete",
                &json!({"ref": reference, "argument": {"name": argument, "value": ""}}),
            )
            .await
            .unwrap_err();
        assert_eq!(e.rpc().unwrap().code, -32602, "{reference} {argument}");
    }
}

#[tokio::test]
async fn completion_is_not_offered_before_2025_03_26() {
    let c = connect_version(ProtocolVersion::V2024_11_05.as_str()).await;
    assert!(
        !c.initialize_result()
            .capabilities
            .contains_key("completions")
    );
    let e = c
        .complete_prompt_argument("conversation", "topic", "r", &HashMap::new())
        .await
        .unwrap_err();
    assert_eq!(e.rpc().unwrap().code, -32601);
}
