//! MCP Apps (SEP-1865): a tool linked to a view (`#[tool(app = "ui://…")]`) is checked
//! against the resources when the server is built, so that a host never gets a tool whose
//! view it cannot read.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::protocol::ResourceContents;
use crate::server::{ResourceDef, ToolDef};

/// The MIME type of an app view.
pub(crate) const MIME_TYPE: &str = "text/html;profile=mcp-app";

/// A view's `_meta` (JSON object text), for its read results; `None` for other resources.
pub(crate) fn view_meta(def: &ResourceDef) -> Option<&'static RawValue> {
    if def.mime_type != Some(MIME_TYPE) {
        return None;
    }
    let meta = def.meta?;
    // Checked JSON object text from the macro; parsed once per read of a view.
    serde_json::from_str::<&RawValue>(meta).ok()
}

/// A `resources/read` result of a view: each content item with the view's `_meta`.
#[derive(Serialize)]
pub(crate) struct ViewReadResult<'a> {
    contents: Vec<WithMeta<'a>>,
}

#[derive(Serialize)]
struct WithMeta<'a> {
    #[serde(flatten)]
    contents: &'a ResourceContents,
    #[serde(rename = "_meta")]
    meta: &'a RawValue,
}

impl<'a> ViewReadResult<'a> {
    pub(crate) fn new(contents: &'a [ResourceContents], meta: &'a RawValue) -> ViewReadResult<'a> {
        ViewReadResult {
            contents: contents
                .iter()
                .map(|c| WithMeta { contents: c, meta })
                .collect(),
        }
    }
}

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

// --- visibility (`_meta.ui.visibility`) applied to clients without the extension

/// The extension's identifier, under `capabilities.extensions`.
pub(crate) const EXTENSION: &str = "io.modelcontextprotocol/ui";

/// Whether the tool's `_meta.ui.visibility` leaves the model out (`["app"]`): only its view
/// calls it. Read once, when the server is built.
pub(crate) fn app_only(def: &ToolDef) -> bool {
    let Some(meta) = def.meta else {
        return false;
    };
    let Ok(meta) = serde_json::from_str::<serde_json::Value>(meta) else {
        return false;
    };
    match meta.pointer("/ui/visibility").and_then(|v| v.as_array()) {
        Some(audiences) => !audiences.iter().any(|a| a == "model"),
        None => false,
    }
}

/// Whether the client declared the extension: a host that renders views, keeps app-only
/// tools from its model and lets their views call them. A client without it has no view to
/// call an app-only tool, and would hand it to its model as an ordinary tool (the
/// extension's text-only fallback), so such tools are neither listed nor callable for it.
pub(crate) fn host_declared(capabilities: Option<&crate::protocol::JsonObject>) -> bool {
    capabilities
        .and_then(|c| c.get("extensions"))
        .and_then(|e| e.get(EXTENSION))
        .is_some_and(serde_json::Value::is_object)
}
