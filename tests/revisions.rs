//! 2026-07-28 requests beside a handshake session, through the in-memory client: `_meta`
//! checks, `server/discover`, result stamping and caching hints, `input_required` rounds,
//! and `subscriptions/listen`.

use std::time::Duration;

use mcp_runtime::prelude::*;
use mcp_runtime::server::ElicitationResponse;
use mcp_runtime::{CacheScope, ClientError};
use serde_json::{Value, json};

#[derive(serde::Deserialize, schemars::JsonSchema, mcp_runtime::Form)]
struct NameForm {
    name: String,
}

/// Greet the user by the name they give.
#[tool]
async fn greet(ctx: Context) -> Result<String, ToolError> {
    match ctx
        .elicit::<NameForm>("What is your name?")
        .key("user_name")
        .await?
    {
        ElicitationResponse::Accept(f) => Ok(format!("Hello, {}!", f.name)),
        _ => Ok("Hello, stranger!".into()),
    }
}

/// Ask the user twice at once, with generated keys.
#[tool]
async fn two_questions(ctx: Context) -> Result<String, ToolError> {
    let (a, b) = tokio::join!(
        ctx.elicit::<NameForm>("First?"),
        ctx.elicit::<NameForm>("Second?")
    );
    let name = |r: ElicitationResponse<NameForm>| match r {
        ElicitationResponse::Accept(f) => f.name,
        _ => "-".into(),
    };
    Ok(format!("{} and {}", name(a?), name(b?)))
}

/// Ask the client's model.
#[tool]
async fn ask_model(ctx: Context) -> Result<String, ToolError> {
    Ok(ctx.sample(SamplingRequest::new("Hi?", 5)).await?.text())
}

/// A private profile.
#[resource("users://{id}/profile")]
fn profile(id: String) -> String {
    format!("user {id}")
}

fn meta(capabilities: Value) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities,
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"}
    })
}

fn server() -> Server {
    Server::new("revisions")
        .cache_hints(Duration::from_secs(300), CacheScope::Public)
        .resource_cache_hints(
            "users://{id}/profile",
            Duration::from_secs(30),
            CacheScope::Private,
        )
}

async fn call(c: &Client, method: &str, params: Value) -> Result<Value, ClientError> {
    c.request::<_, Value>(method, &params).await
}

#[tokio::test]
async fn discover_lists_and_reads_carry_result_type_identity_and_caching_hints() {
    let c = Client::connect(server()).await.unwrap();
    let d = call(&c, "server/discover", json!({"_meta": meta(json!({}))}))
        .await
        .unwrap();
    assert_eq!(d["resultType"], "complete");
    assert_eq!(d["supportedVersions"][0], "2026-07-28");
    assert!(
        d["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!("2025-11-25"))
    );
    assert_eq!(
        d["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "revisions"
    );
    assert!(d["capabilities"]["tools"].is_object());
    let tools = call(&c, "tools/list", json!({"_meta": meta(json!({}))}))
        .await
        .unwrap();
    assert_eq!(
        (tools["ttlMs"].clone(), tools["cacheScope"].clone()),
        (json!(300000), json!("public"))
    );
    let read = call(
        &c,
        "resources/read",
        json!({"uri": "users://7/profile", "_meta": meta(json!({}))}),
    )
    .await
    .unwrap();
    assert_eq!(read["contents"][0]["text"], "user 7");
    assert_eq!(
        (read["ttlMs"].clone(), read["cacheScope"].clone()),
        (json!(30000), json!("private"))
    );
    // The handshake session beside it is untouched: no resultType on its results.
    let legacy = call(&c, "tools/list", json!({})).await.unwrap();
    assert!(legacy.get("resultType").is_none() && legacy.get("ttlMs").is_none());
}

#[tokio::test]
async fn bad_meta_unknown_revisions_and_removed_methods_get_this_revisions_errors() {
    let c = Client::connect(server()).await.unwrap();
    let code = |r: Result<Value, ClientError>| r.unwrap_err().rpc().map(|e| e.code);
    let no_caps = json!({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}});
    assert_eq!(code(call(&c, "tools/list", no_caps).await), Some(-32602));
    let future = json!({"_meta": {
        "io.modelcontextprotocol/protocolVersion": "2099-01-01",
        "io.modelcontextprotocol/clientCapabilities": {}
    }});
    let e = call(&c, "tools/list", future).await.unwrap_err();
    let e = e.rpc().unwrap();
    assert_eq!(e.code, -32022);
    assert_eq!(e.data.as_ref().unwrap()["requested"], "2099-01-01");
    for removed in ["ping", "logging/setLevel", "resources/subscribe"] {
        let r = call(
            &c,
            removed,
            json!({"uri": "x://y", "level": "info", "_meta": meta(json!({}))}),
        )
        .await;
        assert_eq!(code(r), Some(-32601), "{removed}");
    }
    let missing = call(
        &c,
        "resources/read",
        json!({"uri": "nowhere://x", "_meta": meta(json!({}))}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        missing.rpc().unwrap().code,
        -32602,
        "not -32002 in 2026-07-28"
    );
}

#[tokio::test]
async fn input_required_rounds_carry_answers_in_a_sealed_state() {
    let c = Client::connect(server()).await.unwrap();
    let caps = json!({"elicitation": {}});
    let first = call(
        &c,
        "tools/call",
        json!({"name": "greet", "_meta": meta(caps.clone())}),
    )
    .await
    .unwrap();
    assert_eq!(first["resultType"], "input_required");
    let asked = &first["inputRequests"]["user_name"];
    assert_eq!(asked["method"], "elicitation/create");
    assert_eq!(asked["params"]["message"], "What is your name?");
    let state = first["requestState"].as_str().unwrap().to_string();
    let answer = json!({"user_name": {"action": "accept", "content": {"name": "Ada"}}});
    let done = call(
        &c,
        "tools/call",
        json!({"name": "greet", "inputResponses": answer, "requestState": state, "_meta": meta(caps.clone())}),
    )
    .await
    .unwrap();
    assert_eq!(done["resultType"], "complete");
    assert_eq!(done["content"][0]["text"], "Hello, Ada!");

    let tampered = call(
        &c,
        "tools/call",
        json!({"name": "greet", "inputResponses": answer, "requestState": format!("{state}x"), "_meta": meta(caps.clone())}),
    )
    .await
    .unwrap_err();
    assert!(tampered.rpc().unwrap().message.contains("requestState"));
    let other_tool = call(
        &c,
        "tools/call",
        json!({"name": "two_questions", "requestState": state, "_meta": meta(caps.clone())}),
    )
    .await
    .unwrap_err();
    assert!(
        other_tool
            .rpc()
            .unwrap()
            .message
            .contains("another request")
    );

    let both = call(
        &c,
        "tools/call",
        json!({"name": "two_questions", "_meta": meta(caps.clone())}),
    )
    .await
    .unwrap();
    let keys: Vec<&String> = both["inputRequests"].as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        ["elicitation-1", "elicitation-2"],
        "asked together, keyed in order"
    );

    let no_sampling = call(
        &c,
        "tools/call",
        json!({"name": "ask_model", "_meta": meta(caps)}),
    )
    .await
    .unwrap_err();
    let e = no_sampling.rpc().unwrap();
    assert_eq!(e.code, -32021);
    assert_eq!(
        e.data.as_ref().unwrap()["requiredCapabilities"],
        json!({"sampling": {}})
    );
}

#[tokio::test]
async fn subscriptions_listen_acknowledges_then_forwards_what_it_asked_for() {
    let server = server();
    let handle = server.handle();
    let c = Client::connect(server).await.unwrap();
    let (id, _listening) = c
        .start_request(
            "subscriptions/listen",
            &json!({"notifications": {"toolsListChanged": true}, "_meta": meta(json!({}))}),
        )
        .await
        .unwrap();
    let next = || async {
        tokio::time::timeout(Duration::from_secs(5), c.next_notification())
            .await
            .expect("a notification")
            .unwrap()
    };
    let ack = next().await;
    assert_eq!(ack.method, "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack.params["notifications"],
        json!({"toolsListChanged": true})
    );
    let tag = ack.params["_meta"]["io.modelcontextprotocol/subscriptionId"].clone();
    assert_eq!(serde_json::to_value(&id).unwrap(), tag);
    assert!(!handle.disable_prompt("nothing"), "no such prompt");
    assert!(handle.disable_tool("greet"));
    // The handshake session hears it untagged; the listener, tagged.
    let mut tagged = None;
    for _ in 0..2 {
        let n = next().await;
        assert_eq!(n.method, "notifications/tools/list_changed");
        if n.params.get("_meta").is_some() {
            tagged = Some(n);
        }
    }
    let tagged = tagged.expect("the listener's notification");
    assert_eq!(
        tagged.params["_meta"]["io.modelcontextprotocol/subscriptionId"],
        tag
    );
    c.cancel(&id, "done").await.unwrap();
}

/// Send the user to a sign-in page.
#[tool]
async fn sign_in_elsewhere(ctx: Context) -> Result<String, ToolError> {
    let answer = ctx
        .elicit_url("Sign in, please.", "https://example.com/login", "login-1")
        .key("login")
        .await?;
    Ok(format!(
        "accepted: {}",
        matches!(answer, ElicitationResponse::Accept(()))
    ))
}

#[tokio::test]
async fn url_elicitation_in_2026_has_no_elicitation_id() {
    let c = Client::connect(server()).await.unwrap();
    let caps = json!({"elicitation": {"url": {}}});
    let first = call(
        &c,
        "tools/call",
        json!({"name": "sign_in_elsewhere", "_meta": meta(caps.clone())}),
    )
    .await
    .unwrap();
    let params = &first["inputRequests"]["login"]["params"];
    assert_eq!(params["mode"], "url");
    assert_eq!(params["url"], "https://example.com/login");
    assert!(params.get("elicitationId").is_none(), "{params}");
    let done = call(
        &c,
        "tools/call",
        json!({"name": "sign_in_elsewhere", "requestState": first["requestState"],
            "inputResponses": {"login": {"action": "accept"}}, "_meta": meta(caps)}),
    )
    .await
    .unwrap();
    assert_eq!(done["content"][0]["text"], "accepted: true");
}

/// What the call's context shows of its request: its `_meta` keys, the client's name and
/// the client's capabilities.
#[tool]
fn seen(ctx: Context) -> Value {
    let mut keys: Vec<&String> = ctx.meta().map(|m| m.keys().collect()).unwrap_or_default();
    keys.sort();
    json!({
        "meta": keys,
        "progress": ctx.progress_token(),
        "client": ctx.client_info().map(|i| i.name.clone()),
        "capabilities": ctx.client_capabilities().cloned(),
    })
}

#[tokio::test]
async fn a_per_request_calls_name_and_arguments_are_read_as_a_handshake_call_reads_them() {
    let c = Client::connect(server()).await.unwrap();
    let ok = |r: Result<Value, ClientError>| r.unwrap()["resultType"].clone();
    // No arguments, `null` ones, an empty object, the name last: served.
    for params in [
        json!({"name": "seen", "_meta": meta(json!({}))}),
        json!({"name": "seen", "arguments": null, "_meta": meta(json!({}))}),
        json!({"_meta": meta(json!({})), "arguments": {}, "name": "seen"}),
    ] {
        assert_eq!(
            ok(call(&c, "tools/call", params.clone()).await),
            "complete",
            "{params}"
        );
    }
    // Arguments that are not an object, a name that is not a string, no name: refused as
    // the full parse of the params refuses them, in both eras.
    for (bad, says) in [
        (json!({"name": "seen", "arguments": [1]}), "invalid type"),
        (json!({"name": "seen", "arguments": "{}"}), "invalid type"),
        (json!({"name": 5}), "invalid type"),
        (json!({"arguments": {}}), "missing field `name`"),
    ] {
        let mut per_request = bad.clone();
        per_request["_meta"] = meta(json!({}));
        for params in [bad.clone(), per_request] {
            let e = call(&c, "tools/call", params.clone()).await.unwrap_err();
            let e = e.rpc().unwrap();
            assert_eq!(e.code, -32602, "{params}");
            assert!(e.message.contains(says), "{params}: {}", e.message);
        }
    }
    // A `_meta` array is no envelope: the request is not taken for a per-request one.
    let array = json!({"name": "seen", "_meta": [
        "io.modelcontextprotocol/protocolVersion", {}
    ]});
    let e = call(&c, "tools/call", array).await.unwrap_err();
    assert!(e.rpc().unwrap().message.contains("invalid type"), "{e}");
}

#[tokio::test]
async fn a_calls_context_shows_its_meta_and_client_as_sent_in_either_era() {
    let c = Client::connect(server()).await.unwrap();
    let text = |r: Value| -> Value {
        serde_json::from_str(r["content"][0]["text"].as_str().unwrap()).unwrap()
    };
    let mut m = meta(json!({"roots": {"listChanged": true}, "x-custom": [1, {"a": "b"}]}));
    m["progressToken"] = json!("p1");
    m["k"] = json!({"nested": true});
    let per_request = call(&c, "tools/call", json!({"name": "seen", "_meta": m}))
        .await
        .unwrap();
    assert_eq!(per_request["resultType"], "complete");
    let seen = text(per_request);
    assert_eq!(
        seen["meta"],
        json!([
            "io.modelcontextprotocol/clientCapabilities",
            "io.modelcontextprotocol/clientInfo",
            "io.modelcontextprotocol/protocolVersion",
            "k",
            "progressToken"
        ])
    );
    assert_eq!(seen["progress"], "p1");
    assert_eq!(seen["client"], "test");
    assert_eq!(
        seen["capabilities"],
        json!({"roots": {"listChanged": true}, "x-custom": [1, {"a": "b"}]})
    );
    // The handshake session's call: its own `_meta`, and none.
    let legacy = call(
        &c,
        "tools/call",
        json!({"name": "seen", "_meta": {"progressToken": 7}}),
    )
    .await
    .unwrap();
    let seen = text(legacy);
    assert_eq!(
        (seen["meta"].clone(), seen["progress"].clone()),
        (json!(["progressToken"]), json!(7))
    );
    let bare = text(
        call(&c, "tools/call", json!({"name": "seen", "_meta": null}))
            .await
            .unwrap(),
    );
    assert_eq!(
        (bare["meta"].clone(), bare["progress"].clone()),
        (json!([]), Value::Null)
    );
    // A `_meta` that is not an object, or a clientInfo that is not an Implementation, is
    // refused as invalid params.
    for bad in [json!(5), json!([]), json!("{}")] {
        let e = call(&c, "tools/call", json!({"name": "seen", "_meta": bad}))
            .await
            .unwrap_err();
        let e = e.rpc().unwrap();
        assert_eq!(e.code, -32602, "{bad}");
        assert!(e.message.contains("invalid type"), "{}", e.message);
    }
    let mut m = meta(json!({}));
    m["io.modelcontextprotocol/clientInfo"] = json!({"name": 1});
    let e = call(&c, "tools/call", json!({"name": "seen", "_meta": m}))
        .await
        .unwrap_err();
    let e = e.rpc().unwrap();
    assert_eq!(e.code, -32602);
    assert!(e.message.contains("clientInfo"), "{}", e.message);
    assert!(!e.message.contains("line 1"), "{}", e.message);
}
