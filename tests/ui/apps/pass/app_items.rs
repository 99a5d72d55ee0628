use mcp_runtime::prelude::*;

/// Shows a chart.
#[tool(app = "ui://charts/view.html")]
fn chart() -> i64 {
    1
}

/// Refreshes the chart; only the view calls it.
#[tool(app(uri = "ui://charts/view.html", visibility = ["app"]), meta(owner = "charts"))]
fn refresh() -> i64 {
    2
}

/// The chart's view.
#[resource(
    "ui://charts/view.html",
    app(
        csp(connect_domains = ["https://api.example.com"], resource_domains = ["https://cdn.example.com"]),
        permissions(clipboard_write),
        domain = "charts.example.com",
        prefers_border = false
    ),
    meta(owner = "charts")
)]
fn view() -> &'static str {
    "<!doctype html><p>chart</p>"
}

fn main() {}
