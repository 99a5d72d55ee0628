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

async fn client() -> Client {
    Client::connect(Server::new("apps").in_module(module_path!()))
        .await
        .unwrap()
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
