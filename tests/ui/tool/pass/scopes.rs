use mcp_runtime::prelude::*;
use mcp_runtime::__private::inventory;
use mcp_runtime::{PromptDef, ResourceDef, ToolDef};

/// Needs two scopes.
#[tool(scopes("notes:read", "notes:write"))]
fn write() -> i64 {
    1
}

/// Needs none, whatever the server's default.
#[tool(scopes())]
fn open() -> i64 {
    2
}

/// The server's default applies.
#[tool]
fn plain() -> i64 {
    3
}

/// Read with one scope, in the list form.
#[resource("notes://all", scopes = ["notes:read"])]
fn notes() -> String {
    String::new()
}

/// One scope, as a plain string.
#[prompt(scopes = "notes:write")]
fn draft() -> String {
    String::new()
}

fn main() {
    let tool = |name: &str| {
        inventory::iter::<ToolDef>
            .into_iter()
            .find(|d| d.name == name)
            .unwrap()
            .scopes
    };
    assert_eq!(tool("write"), Some(&["notes:read", "notes:write"][..]));
    assert_eq!(tool("open"), Some(&[][..]));
    assert_eq!(tool("plain"), None);
    let r = inventory::iter::<ResourceDef>.into_iter().next().unwrap();
    assert_eq!(r.scopes, Some(&["notes:read"][..]));
    let p = inventory::iter::<PromptDef>.into_iter().next().unwrap();
    assert_eq!(p.scopes, Some(&["notes:write"][..]));
    let _ = (write(), open(), plain(), notes(), draft());
}
