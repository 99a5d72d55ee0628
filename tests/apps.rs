//! MCP Apps (SEP-1865): what `#[tool(app = …)]` and `#[resource("ui://…", app(…))]` put on
//! the wire, through the in-memory client.

use mcp_runtime::prelude::*;
use serde_json::{Value, json};

/// Shows a chart.
#[tool(app = "ui://charts/view.html")]
fn chart() -> i64 {
    1
}

/// Refreshes the chart; only its view calls it.
#[tool(app(uri = "ui://charts/view.html", visibility = ["app"]), meta(owner = "charts"))]
fn refresh() -> i64 {
    2
}

/// The chart's view.
#[resource(
    "ui://charts/view.html",
    app(
        csp(
            connect_domains = ["https://api.example.com"],
            resource_domains = ["https://cdn.example.com", "https://*.fonts.example"],
            frame_domains = [],
            base_uri_domains = ["https://charts.example.com"]
        ),
        permissions(camera, clipboard_write),
        domain = "charts.example.com",
        prefers_border = true
    ),
    meta(owner = "charts")
)]
fn view() -> &'static str {
    "<!doctype html><p>chart</p>"
}

/// A view with no policy of its own: deny by default.
#[resource("ui://bare/view.html", app)]
fn bare() -> &'static str {
    "<!doctype html>"
}

/// A client declaring the MCP Apps extension: a host that renders views.
async fn client() -> Client {
    host(ClientOptions::default().protocol_version).await
}

async fn host(version: String) -> Client {
    let mut options = ClientOptions {
        protocol_version: version,
        ..ClientOptions::default()
    };
    options.capabilities.insert(
        "extensions".into(),
        json!({"io.modelcontextprotocol/ui": {"mimeTypes": ["text/html;profile=mcp-app"]}}),
    );
    Client::connect_with(Server::new("apps").in_module(module_path!()), options)
        .await
        .unwrap()
}

fn names(tools: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = tools["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    names
}

#[tokio::test]
async fn app_only_tools_are_listed_and_callable_for_hosts_of_the_extension_only() {
    for version in ["2025-11-25", "2026-07-28"] {
        // A host of views lists every tool (it keeps `refresh` from its model) and its view
        // calls `refresh`.
        let h = host(version.into()).await;
        let tools: Value = h.request("tools/list", &json!({})).await.unwrap();
        assert_eq!(names(&tools), ["chart", "refresh"], "{version}");
        let done = h.call_tool("refresh", json!({})).await.unwrap();
        assert_eq!(
            done.structured_content,
            Some(json!({"result": 2})),
            "{version}"
        );

        // A client without the extension has no view to call it and would hand it to its
        // model: it neither sees nor calls `refresh`, and still has `chart`.
        let plain = Client::connect_with(
            Server::new("apps").in_module(module_path!()),
            ClientOptions {
                protocol_version: version.into(),
                ..ClientOptions::default()
            },
        )
        .await
        .unwrap();
        let tools: Value = plain.request("tools/list", &json!({})).await.unwrap();
        assert_eq!(names(&tools), ["chart"], "{version}");
        let err = plain.call_tool("refresh", json!({})).await.unwrap_err();
        let err = err.rpc().expect("a JSON-RPC error");
        assert_eq!(err.code, -32602, "{version}");
        assert!(
            err.message.contains("MCP Apps view only")
                && err.message.contains("io.modelcontextprotocol/ui"),
            "{version}: {}",
            err.message
        );
        assert!(
            plain.call_tool("chart", json!({})).await.is_ok(),
            "{version}"
        );
    }
}

#[tokio::test]
async fn app_tools_carry_their_view_and_visibility() {
    let c = client().await;
    let tools: Value = c.request("tools/list", &json!({})).await.unwrap();
    let meta = |name: &str| {
        tools["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()["_meta"]
            .clone()
    };
    assert_eq!(
        meta("chart"),
        json!({"ui": {"resourceUri": "ui://charts/view.html"}, "ui/resourceUri": "ui://charts/view.html"})
    );
    assert_eq!(
        meta("refresh"),
        json!({
            "ui": {"resourceUri": "ui://charts/view.html", "visibility": ["app"]},
            "ui/resourceUri": "ui://charts/view.html",
            "owner": "charts"
        })
    );
}

#[tokio::test]
async fn app_views_are_mcp_app_html_with_their_sandbox_policy() {
    let c = client().await;
    let list: Value = c.request("resources/list", &json!({})).await.unwrap();
    let find = |uri: &str| {
        list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["uri"] == uri)
            .unwrap()
            .clone()
    };
    let view = find("ui://charts/view.html");
    assert_eq!(view["mimeType"], "text/html;profile=mcp-app");
    assert_eq!(
        view["_meta"],
        json!({
            "ui": {
                "csp": {
                    "connectDomains": ["https://api.example.com"],
                    "resourceDomains": ["https://cdn.example.com", "https://*.fonts.example"],
                    "frameDomains": [],
                    "baseUriDomains": ["https://charts.example.com"]
                },
                "permissions": {"camera": {}, "clipboardWrite": {}},
                "domain": "charts.example.com",
                "prefersBorder": true
            },
            "owner": "charts"
        })
    );
    let bare = find("ui://bare/view.html");
    assert_eq!(bare["_meta"], json!({"ui": {}}));
    let read = c.read_resource("ui://charts/view.html").await.unwrap();
    let Some(mcp_runtime::ResourceContents::Text {
        mime_type, text, ..
    }) = read.first()
    else {
        panic!("text contents")
    };
    assert_eq!(mime_type.as_deref(), Some("text/html;profile=mcp-app"));
    assert!(text.starts_with("<!doctype html>"));
    // The read result's contents carry the view's policy too, where hosts look for it.
    let raw: Value = c
        .request("resources/read", &json!({"uri": "ui://charts/view.html"}))
        .await
        .unwrap();
    assert_eq!(raw["contents"][0]["_meta"], view["_meta"]);
    assert_eq!(raw["contents"][0]["mimeType"], "text/html;profile=mcp-app");
    let raw: Value = c
        .request("resources/read", &json!({"uri": "ui://bare/view.html"}))
        .await
        .unwrap();
    assert_eq!(raw["contents"][0]["_meta"], json!({"ui": {}}));
}

#[tokio::test]
async fn a_tool_whose_view_is_not_served_stops_the_server() {
    let e = Client::connect(
        Server::new("apps")
            .in_module(module_path!())
            .retain_resources(|r| r.uri != "ui://charts/view.html"),
    )
    .await
    .unwrap_err();
    let e = e.to_string();
    assert!(
        (e.contains("`chart`") || e.contains("`refresh`"))
            && e.contains("ui://charts/view.html")
            && e.contains("#[resource"),
        "{e}"
    );
}
