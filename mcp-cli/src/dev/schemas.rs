//! The official JSON Schemas of the protocol's revisions, for the page to check every
//! message against: read from `MCP_SCHEMAS_DIR/<revision>/schema.json` (the `schema/`
//! folder of the specification repository), so that the inspector checks against the
//! published schema rather than a copy of its own.

use mcp_runtime::protocol::ProtocolVersion;
use serde_json::Value;

/// The largest schema file read.
const MAX_SCHEMA: u64 = 4 * 1024 * 1024;

/// The schema of `revision`, or why there is none.
pub(super) fn load(revision: &str) -> Result<Value, String> {
    // Only known revisions: the name becomes a path.
    let Some(v) = ProtocolVersion::parse_any(revision) else {
        return Err(format!("unknown revision `{revision}`"));
    };
    let Some(dir) = std::env::var_os("MCP_SCHEMAS_DIR") else {
        return Err(
            "set MCP_SCHEMAS_DIR to the official schemas (the schema/ folder of the specification repository, with <revision>/schema.json) to check every message"
                .into(),
        );
    };
    let path = std::path::Path::new(&dir)
        .join(v.as_str())
        .join("schema.json");
    let size = std::fs::metadata(&path)
        .map_err(|e| format!("no schema for {revision} at {}: {e}", path.display()))?
        .len();
    if size > MAX_SCHEMA {
        return Err(format!(
            "{} is larger than {MAX_SCHEMA} bytes",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("could not read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", path.display()))
}
