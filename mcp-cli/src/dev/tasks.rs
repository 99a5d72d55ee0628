//! Calls run as tasks (the tasks extension of 2026-07-28, `io.modelcontextprotocol/tasks`):
//! the inspector declares the extension on the one request the developer asked to run as a
//! task, so other calls of task-capable tools still answer directly.

use serde_json::{Value, json};

/// The `_meta` key of the client's capabilities in a 2026-07-28 request.
const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// The extension's identifier.
pub(super) const EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// Adds the tasks extension to the client capabilities in the request's `_meta` (the
/// inspector's own, which the client would send, plus the extension).
pub(super) fn declare(params: &mut Value) {
    let mut caps = super::session::capabilities();
    caps.insert("extensions".into(), json!({ EXTENSION: {} }));
    if !params.is_object() {
        *params = json!({});
    }
    let meta = params
        .as_object_mut()
        .map(|p| p.entry("_meta").or_insert_with(|| json!({})));
    if let Some(Value::Object(meta)) = meta {
        meta.insert(CLIENT_CAPABILITIES.into(), Value::Object(caps));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_is_declared_beside_the_callers_meta() {
        let mut p = json!({ "name": "t", "_meta": { "progressToken": "x" } });
        declare(&mut p);
        assert_eq!(p["_meta"]["progressToken"], "x");
        assert!(p["_meta"][CLIENT_CAPABILITIES]["extensions"][EXTENSION].is_object());
        assert!(p["_meta"][CLIENT_CAPABILITIES]["sampling"].is_object());
    }
}
