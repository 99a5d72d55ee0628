use mcp_runtime::prelude::*;

/// An app view must be a `ui://` resource.
#[resource("file:///view.html", app)]
fn not_ui() -> &'static str {
    ""
}

/// Not a template either.
#[resource("ui://views/{name}", app)]
fn template(name: String) -> String {
    name
}

/// `app` sets the MIME type.
#[resource("ui://v/a.html", app, mime_type = "text/html")]
fn mime_conflict() -> &'static str {
    ""
}

/// Unknown CSP and permission keys, and a CSP origin with a space.
#[resource(
    "ui://v/b.html",
    app(csp(connect = ["https://a.example"], resource_domains = ["https://a b"]), permissions(usb))
)]
fn unknown_keys() -> &'static str {
    ""
}

fn main() {}
