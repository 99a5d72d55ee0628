//! What a server serves: the static descriptors the macros emit, and the catalogs a running
//! server looks them up in.

pub(crate) mod catalog;
pub(crate) mod handle;
pub(crate) mod prompt;
pub(crate) mod resource;
pub(crate) mod tool;

pub(crate) use catalog::Catalog;
pub use handle::ServerHandle;
pub(crate) use prompt::PromptEntry;
pub use prompt::{PromptArgument, PromptDef};
pub(crate) use resource::ResourceEntry;
pub use resource::{ResourceAnnotations, ResourceDef};
pub(crate) use tool::ToolEntry;
pub use tool::{ToolAnnotations, ToolDef};

use std::sync::OnceLock;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use serde::Serialize;

use crate::protocol::{JsonObject, ProtocolVersion};

/// An icon for a tool, resource, prompt or server.
#[derive(Debug, Clone, Copy)]
pub struct Icon {
    /// `https:` or `data:` URI of the image.
    pub src: &'static str,
    /// MIME type, e.g. `image/png`.
    pub mime_type: Option<&'static str>,
    /// Sizes such as `"48x48"` or `"any"`.
    pub sizes: &'static [&'static str],
    /// `"light"` or `"dark"`.
    pub theme: Option<&'static str>,
}

impl Icon {
    /// An icon with only a source.
    pub const fn new(src: &'static str) -> Icon {
        Icon {
            src,
            mime_type: None,
            sizes: &[],
            theme: None,
        }
    }

    pub(crate) fn to_json(self) -> Value {
        let mut m = Map::new();
        m.insert("src".into(), self.src.into());
        if let Some(t) = self.mime_type {
            m.insert("mimeType".into(), t.into());
        }
        if !self.sizes.is_empty() {
            m.insert("sizes".into(), self.sizes.into());
        }
        if let Some(t) = self.theme {
            m.insert("theme".into(), t.into());
        }
        Value::Object(m)
    }
}

/// An item's listing entry (`tools/list`, `resources/list`…), serialized once per revision on
/// first use, so that a listing is a concatenation of cached strings.
#[derive(Default)]
pub(crate) struct Listing([OnceLock<Box<RawValue>>; ProtocolVersion::ALL.len()]);

impl Listing {
    /// The entry for `version`; `build` makes the typed value the first time.
    pub(crate) fn get<T: Serialize>(
        &self,
        version: ProtocolVersion,
        build: impl FnOnce() -> T,
    ) -> &RawValue {
        self.0[version.index()].get_or_init(|| {
            serde_json::value::to_raw_value(&build()).expect("a listed item serializes")
        })
    }
}

/// Icons as listed items carry them; none when there are none.
pub(crate) fn icons(icons: &[Icon]) -> Option<Vec<Value>> {
    (!icons.is_empty()).then(|| icons.iter().map(|i| i.to_json()).collect())
}

/// An item's `_meta` (JSON object text, checked by the macros).
pub(crate) fn meta(meta: Option<&'static str>) -> Option<JsonObject> {
    meta.and_then(|s| serde_json::from_str(s).ok())
}

// --- source links (inspector) ---
/// The `_meta` key of an item's source location, listed only when the server runs under
/// `mcp-cli dev` (which sets `MCP_DEV_SOURCES=1`): `{"file": "src/main.rs", "line": 12}`.
pub(crate) const SOURCE_META: &str = "dev.mcp-runtime/source";

/// Whether items list their source locations (read once).
fn sources_listed() -> bool {
    static LISTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *LISTED.get_or_init(|| std::env::var_os("MCP_DEV_SOURCES").is_some_and(|v| v == "1"))
}

/// `meta` with the item's source location when the server runs under `mcp-cli dev`.
pub(crate) fn sourced(meta: Option<JsonObject>, location: (&str, u32)) -> Option<JsonObject> {
    if !sources_listed() {
        return meta;
    }
    let mut m = meta.unwrap_or_default();
    m.insert(
        SOURCE_META.into(),
        serde_json::json!({ "file": location.0, "line": location.1 }),
    );
    Some(m)
}

/// Where an item was defined, for messages: `file:line (`module`)`.
pub(crate) fn origin(location: (&str, u32), module_path: &str) -> String {
    format!("{}:{} (`{module_path}`)", location.0, location.1)
}
