//! Doc comments from `#[doc = include_str!(...)]`, mixed with ordinary ones.

use mcp_runtime::__private::{ToolDef, inventory};
use mcp_runtime::prelude::*;

#[doc = include_str!("doc_include_str.md")]
#[tool]
fn from_file(a: i64) -> i64 {
    a
}

/// First line.
#[doc = include_str!("doc_include_str.md")]
/// Last line.
#[tool]
fn mixed(a: i64) -> i64 {
    a
}

/// Written as an attribute.
#[doc = "More text."]
#[tool(title = "Attribute docs")]
fn attr_docs() {}

fn description(name: &str) -> &'static str {
    inventory::iter::<ToolDef>
        .into_iter()
        .find(|d| d.name == name)
        .and_then(|d| d.description)
        .unwrap_or_else(|| panic!("tool `{name}` has no description"))
}

fn main() {
    let d = description("from_file");
    assert!(d.contains("Describe a tool from a Markdown file.\n\nThe whole file"), "{d:?}");
    let d = description("mixed");
    assert!(d.contains("First line.") && d.contains("Markdown file") && d.contains("Last line."), "{d:?}");
    let d = description("attr_docs");
    assert_eq!(d, "Written as an attribute.\nMore text.");
}
