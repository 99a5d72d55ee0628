use mcp_runtime::prelude::*;

/// The view is not a `ui://` resource.
#[tool(app = "https://example.com/view.html")]
fn wrong_scheme() -> i64 {
    1
}

/// A visibility that does not exist.
#[tool(app(uri = "ui://v/view.html", visibility = ["model", "user"]))]
fn wrong_visibility() -> i64 {
    1
}

/// No URI.
#[tool(app(visibility = ["app"]))]
fn no_uri() -> i64 {
    1
}

/// `meta(ui = …)` beside `app`.
#[tool(app = "ui://v/view.html", meta(ui = "mine"))]
fn meta_conflict() -> i64 {
    1
}

/// An unknown key in `app(…)`.
#[tool(app(uri = "ui://v/view.html", visible = ["app"]))]
fn unknown_key() -> i64 {
    1
}

fn main() {}
