//! Static tool descriptors, collected through `inventory`, and tools as a server holds them.

use serde_json::Value;
use serde_json::value::RawValue;

use super::{Icon, Listing, icons, meta, origin, sourced};
use crate::protocol::param_headers;
use crate::protocol::{JsonObject, ProtocolVersion, Tool};
use crate::server::handlers::call::{OutputMode, OutputSchema, ToolCall, ToolFuture};

/// Hints about a tool's behaviour. `None` leaves a hint to the client's default.
#[derive(Debug, Clone, Copy, Default)]
pub struct ToolAnnotations {
    /// Display name.
    pub title: Option<&'static str>,
    /// The tool does not modify its environment (default false).
    pub read_only: Option<bool>,
    /// The tool may perform destructive updates (default true).
    pub destructive: Option<bool>,
    /// Calling it again with the same arguments has no further effect (default false).
    pub idempotent: Option<bool>,
    /// The tool talks to an open world of external entities (default true).
    pub open_world: Option<bool>,
}

impl ToolAnnotations {
    /// No hints.
    pub const NONE: ToolAnnotations = ToolAnnotations {
        title: None,
        read_only: None,
        destructive: None,
        idempotent: None,
        open_world: None,
    };

    fn to_object(self) -> Option<JsonObject> {
        let mut m = JsonObject::new();
        if let Some(t) = self.title {
            m.insert("title".into(), t.into());
        }
        for (key, v) in [
            ("readOnlyHint", self.read_only),
            ("destructiveHint", self.destructive),
            ("idempotentHint", self.idempotent),
            ("openWorldHint", self.open_world),
        ] {
            if let Some(v) = v {
                m.insert(key.into(), v.into());
            }
        }
        (!m.is_empty()).then_some(m)
    }
}

/// Everything the runtime knows about one tool, as a static the `#[tool]` macro emits.
///
/// A `ToolDef` can also be written by hand and registered with
/// [`Server::tool`](crate::Server::tool); see the `#[tool]` reference in `docs/`.
#[derive(Debug)]
pub struct ToolDef {
    /// Programmatic name, unique per server.
    pub name: &'static str,
    /// Display name.
    pub title: Option<&'static str>,
    /// What the tool does; from the doc comment unless given.
    pub description: Option<&'static str>,
    /// The Rust module the tool was defined in (`module_path!()`).
    pub module_path: &'static str,
    /// Source file and line, for error messages.
    pub location: (&'static str, u32),
    /// Tags, for filtering.
    pub tags: &'static [&'static str],
    /// Icons.
    pub icons: &'static [Icon],
    /// Behaviour hints.
    pub annotations: ToolAnnotations,
    /// `_meta` of the tool, as JSON object text.
    pub meta: Option<&'static str>,
    /// Builds the JSON Schema of the arguments.
    pub input_schema: fn() -> JsonObject,
    /// Builds the JSON Schema of `structuredContent`, if the tool returns structured output.
    pub output_schema: fn() -> Option<OutputSchema>,
    /// Whether calls may become tasks (the 2026-07-28 tasks extension).
    pub task: crate::server::TaskSupport,
    /// Runs the tool.
    pub handler: fn(ToolCall<'_>) -> ToolFuture,
    // ---- Identity (issue 21)
    /// The scopes a caller needs, all of them, to see and use this item (`scopes(...)` of
    /// the macro). `None`: the server's default ([`Server::default_scopes`]); `Some(&[])`:
    /// none, whatever the default.
    ///
    /// [`Server::default_scopes`]: crate::Server::default_scopes
    pub scopes: Option<&'static [&'static str]>,
    // --- state checked at start (first-day checks)
    /// The [`State<T>`](crate::State) types the handler takes; a server without one of them
    /// refuses to start. `|| Vec::new()` for none.
    pub states: fn() -> Vec<crate::server::StateNeed>,
    // --- text copy of structured results (first-day checks)
    /// Whether a structured result also carries its JSON as a text block (`#[tool(text =
    /// false)]` gives `Some(false)`); `None` follows [`Server::structured_text`](crate::Server::structured_text).
    pub text: Option<bool>,
    /// How long a call may run and how many may run at once.
    pub limits: crate::middleware::ToolLimits,
}

inventory::collect!(ToolDef);

/// A tool with its schemas built once, at server construction.
pub(crate) struct ToolEntry {
    pub(crate) def: &'static ToolDef,
    pub(crate) input_schema: JsonObject,
    pub(crate) output_schema: Option<JsonObject>,
    pub(crate) output_mode: OutputMode,
    /// Wire names of the arguments, for unknown-argument checks.
    pub(crate) argument_names: Vec<String>,
    /// Whether arguments not in the schema are refused.
    pub(crate) closed: bool,
    /// Whether a structured result keeps its text copy; `None` follows the server.
    pub(crate) text: Option<bool>,
    /// Arguments mirrored into `Mcp-Param-*` HTTP headers, as `(property, header name)`;
    /// see [`param_headers`](crate::protocol::param_headers).
    pub(crate) header_params: Vec<(String, String)>,
    listing: Listing,
    /// The permits of a tool with `max_concurrency`.
    pub(crate) permits: Option<std::sync::Arc<tokio::sync::Semaphore>>,
    // --- MCP Apps visibility
    /// Whether `_meta.ui.visibility` leaves the model out: listed and callable only for
    /// clients declaring the MCP Apps extension.
    pub(crate) app_only: bool,
}

impl ToolEntry {
    pub(crate) fn new(def: &'static ToolDef) -> Result<ToolEntry, String> {
        let input_schema = (def.input_schema)();
        if input_schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(format!(
                "tool `{}` ({}:{}): its input schema must be a JSON object with `\"type\": \"object\"`",
                def.name, def.location.0, def.location.1
            ));
        }
        param_headers::check_annotations(&input_schema).map_err(|e| {
            format!(
                "tool `{}` ({}:{}): {e}",
                def.name, def.location.0, def.location.1
            )
        })?;
        let header_params = param_headers::header_params(&input_schema);
        let argument_names = input_schema
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        let closed = input_schema.get("additionalProperties") == Some(&Value::Bool(false));
        let output = (def.output_schema)();
        let output_mode = match &output {
            None => OutputMode::Text,
            Some(o) if o.wrapped => OutputMode::Wrapped,
            Some(_) => OutputMode::Structured,
        };
        Ok(ToolEntry {
            def,
            output_schema: output.map(|o| o.schema),
            output_mode,
            input_schema,
            argument_names,
            closed,
            text: def.text,
            header_params,
            listing: Default::default(),
            permits: crate::middleware::limits::semaphore(&def.limits),
            app_only: crate::server::apps::app_only(def),
        })
    }

    /// Drops the text copy of a successful structured result when the tool (or else the
    /// server, `server_text`) says so and the revision carries `structuredContent`.
    pub(crate) fn shape(
        &self,
        mut result: crate::protocol::CallToolResult,
        version: ProtocolVersion,
        server_text: bool,
    ) -> crate::protocol::CallToolResult {
        result = result.for_revision(version);
        if !self.text.unwrap_or(server_text)
            && self.output_mode != OutputMode::Text
            && !result.is_error
            && result.structured_content.is_some()
        {
            result.content.clear();
        }
        result
    }

    /// The tool's `tools/list` entry for a revision, built on first use.
    pub(crate) fn listing(&self, version: ProtocolVersion) -> &RawValue {
        self.listing
            .get(version, || self.describe().for_revision(version))
    }

    /// The tool as the newest revision lists it.
    fn describe(&self) -> Tool {
        let d = self.def;
        Tool {
            name: d.name.into(),
            title: d.title.map(Into::into),
            description: d.description.map(Into::into),
            input_schema: self.input_schema.clone(),
            output_schema: self.output_schema.clone(),
            annotations: d.annotations.to_object(),
            icons: icons(d.icons),
            meta: sourced(meta(d.meta), d.location),
        }
    }
}

impl crate::server::registration::catalog::Item for ToolEntry {
    fn kind(&self) -> &'static str {
        "tool"
    }

    fn key(&self) -> &'static str {
        self.def.name
    }

    fn origin(&self) -> String {
        origin(self.def.location, self.def.module_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::schema::InputSchemaBuilder;

    fn listed_schema() -> JsonObject {
        serde_json::json!({"type": "array"})
            .as_object()
            .cloned()
            .unwrap()
    }

    static NOT_AN_OBJECT: ToolDef = ToolDef {
        name: "shapeless",
        title: None,
        description: Some("A tool whose schema is not an object schema."),
        module_path: "tests",
        location: ("src/lib.rs", 7),
        tags: &[],
        icons: &[],
        annotations: ToolAnnotations {
            title: None,
            read_only: None,
            destructive: None,
            idempotent: None,
            open_world: None,
        },
        meta: None,
        input_schema: listed_schema,
        output_schema: || None,
        task: crate::server::TaskSupport::Forbidden,
        handler: |_| ToolFuture::ready(crate::protocol::CallToolResult::text("")),
        scopes: None,
        states: Vec::new,
        text: None,
        limits: crate::middleware::ToolLimits::NONE,
    };

    fn def_with_schema(input_schema: fn() -> JsonObject) -> &'static ToolDef {
        Box::leak(Box::new(ToolDef {
            name: "transfer",
            location: ("src/bank.rs", 12),
            input_schema,
            ..NOT_AN_OBJECT
        }))
    }

    #[test]
    fn a_number_argument_mirrored_into_a_header_is_refused_by_tool_and_argument() {
        let def = def_with_schema(|| {
            let mut b = InputSchemaBuilder::new();
            b.argument::<f64>("amount", None, None, false);
            b.header("amount", "Amount");
            b.finish()
        });
        let Err(e) = ToolEntry::new(def) else {
            panic!("a `number` argument cannot carry `x-mcp-header`");
        };
        assert_eq!(
            e,
            "tool `transfer` (src/bank.rs:12): argument `amount` is mirrored into header `Mcp-Param-Amount`, but only string, integer and boolean arguments can be; its schema has `\"type\": \"number\"`"
        );
    }

    #[test]
    fn mirrored_arguments_are_listed_and_kept_with_the_tool() {
        let def = def_with_schema(|| {
            let mut b = InputSchemaBuilder::new();
            b.argument::<String>("region", None, None, false);
            b.header("region", "Region");
            b.argument::<Option<u32>>("shard", None, None, true);
            b.header("shard", "Shard");
            b.argument::<String>("query", None, None, false);
            b.finish()
        });
        let entry = ToolEntry::new(def).expect("string and integer arguments can be mirrored");
        assert_eq!(
            entry.header_params,
            [
                ("region".to_string(), "Region".to_string()),
                ("shard".to_string(), "Shard".to_string())
            ]
        );
        let listed: Value = serde_json::from_str(entry.listing(ProtocolVersion::LATEST).get())
            .expect("a listing is JSON");
        assert_eq!(
            listed["inputSchema"]["properties"]["region"]["x-mcp-header"],
            "Region"
        );
        assert_eq!(
            listed["inputSchema"]["properties"]["shard"]["x-mcp-header"],
            "Shard"
        );
        assert!(
            listed["inputSchema"]["properties"]["query"]
                .get("x-mcp-header")
                .is_none()
        );
    }

    #[test]
    fn an_input_schema_that_is_not_an_object_schema_is_refused_by_name() {
        let Err(e) = ToolEntry::new(&NOT_AN_OBJECT) else {
            panic!("a schema of type array must be refused");
        };
        assert_eq!(
            e,
            "tool `shapeless` (src/lib.rs:7): its input schema must be a JSON object with `\"type\": \"object\"`"
        );
    }
}
