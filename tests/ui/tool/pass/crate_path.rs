//! `crate = path`: a crate or module re-exporting `mcp_runtime` can expand the macros without
//! its users depending on `mcp_runtime` by name.

/// A facade, as a re-exporting crate would have.
mod facade {
    pub use mcp_runtime::*;
}

/// The runtime under another name.
use mcp_runtime as mcp;

/// Add two integers.
#[facade::tool(crate = crate::facade)]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Greet someone.
#[mcp::tool(crate = mcp, annotations(read_only))]
async fn greet(name: String, ctx: facade::Context) -> String {
    let _ = ctx;
    format!("hello {name}")
}

/// The configuration.
#[facade::resource("config://app", crate = facade)]
fn config() -> String {
    "{}".into()
}

/// A user's profile.
#[facade::resource("users://{id}/profile", crate = "crate::facade")]
fn profile(id: u64) -> String {
    id.to_string()
}

/// Review code.
#[mcp::prompt(crate = mcp)]
fn review(code: String) -> String {
    code
}

fn main() {
    let tools: Vec<&str> = mcp::__private::inventory::iter::<mcp::__private::ToolDef>
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(tools.contains(&"add") && tools.contains(&"greet"), "{tools:?}");
    let uris: Vec<&str> = mcp::__private::inventory::iter::<mcp::__private::ResourceDef>
        .into_iter()
        .map(|r| r.uri)
        .collect();
    assert!(uris.contains(&"config://app") && uris.contains(&"users://{id}/profile"));
    let prompts = mcp::__private::inventory::iter::<mcp::__private::PromptDef>.into_iter().count();
    assert_eq!(prompts, 1);
}
