//! MCP Apps (SEP-1865): a tool linked to a view (`#[tool(app = "ui://…")]`) is checked
//! against the resources when the server is built, so that a host never gets a tool whose
//! view it cannot read.

use crate::server::{ResourceDef, ToolDef};

/// The `ui://` view a tool names in `_meta.ui.resourceUri`, if any.
fn view_of(tool: &ToolDef) -> Option<String> {
    let meta = tool.meta.filter(|m| m.contains("resourceUri"))?;
    let value: serde_json::Value = serde_json::from_str(meta).ok()?;
    value["ui"]["resourceUri"].as_str().map(str::to_string)
}

/// Fails, naming the tool and the fix, when a tool's view is not among `resources`.
pub(crate) fn check_views(tools: &[&ToolDef], resources: &[&ResourceDef]) -> Result<(), String> {
    for tool in tools {
        let Some(view) = view_of(tool) else { continue };
        if !resources.iter().any(|r| r.uri == view) {
            return Err(format!(
                "tool `{}` at {}:{} shows the view `{view}`, which the server does not serve: add `#[resource(\"{view}\", app)]` returning its HTML (or keep it when filtering resources)",
                tool.name, tool.location.0, tool.location.1
            ));
        }
    }
    Ok(())
}
