//! What each revision keeps of a value: the `for_revision` methods of the wire types.
//!
//! The server builds every listed item, `initialize` result and tool result in its newest
//! form, then asks the type for the shape a revision allows. These methods and
//! [`ProtocolVersion`]'s feature methods are the only place that knows what changed between
//! revisions.

use serde::Serialize;
use serde_json::{Map, Value};

use super::{
    CallToolResult, Implementation, InitializeResult, JsonObject, Prompt, ProtocolVersion,
    Resource, ResourceTemplate, Tool,
};

impl Tool {
    /// The tool as `tools/list` shows it in `version`. Before titles existed (2025-06-18) a
    /// title moves into the annotations, where 2025-03-26 reads it.
    pub fn for_revision(mut self, version: ProtocolVersion) -> Tool {
        if !version.has_titles()
            && let Some(title) = self.title.take()
            && version.has_tool_annotations()
        {
            let annotations = self.annotations.get_or_insert_with(Map::new);
            annotations
                .entry("title")
                .or_insert_with(|| Value::String(title));
        }
        if !version.has_structured_output() {
            self.output_schema = None;
        }
        if !version.has_tool_annotations() {
            self.annotations = None;
        }
        if !version.has_icons() {
            self.icons = None;
        }
        if !version.has_item_meta() {
            self.meta = None;
        }
        self
    }
}

impl Resource {
    /// The resource as `resources/list` shows it in `version`.
    pub fn for_revision(mut self, version: ProtocolVersion) -> Resource {
        strip_listed(
            version,
            &mut self.title,
            &mut self.annotations,
            &mut self.icons,
            &mut self.meta,
        );
        self
    }
}

impl ResourceTemplate {
    /// The template as `resources/templates/list` shows it in `version`.
    pub fn for_revision(mut self, version: ProtocolVersion) -> ResourceTemplate {
        strip_listed(
            version,
            &mut self.title,
            &mut self.annotations,
            &mut self.icons,
            &mut self.meta,
        );
        self
    }
}

/// What every listed item loses in older revisions: `title` (and resource annotations'
/// `lastModified`, which came with it) before 2025-06-18, `icons` before 2025-11-25, `_meta`
/// before 2025-06-18.
fn strip_listed(
    version: ProtocolVersion,
    title: &mut Option<String>,
    annotations: &mut Option<super::Annotations>,
    icons: &mut Option<Vec<Value>>,
    meta: &mut Option<JsonObject>,
) {
    if !version.has_titles() {
        *title = None;
        strip_last_modified(annotations);
    }
    if !version.has_icons() {
        *icons = None;
    }
    if !version.has_item_meta() {
        *meta = None;
    }
}

/// `lastModified` came with titles (2025-06-18); annotations left empty are left out.
fn strip_last_modified(annotations: &mut Option<super::Annotations>) {
    if let Some(a) = annotations {
        a.last_modified = None;
        if a.audience.is_none() && a.priority.is_none() {
            *annotations = None;
        }
    }
}

impl Prompt {
    /// The prompt as `prompts/list` shows it in `version`.
    pub fn for_revision(mut self, version: ProtocolVersion) -> Prompt {
        if !version.has_titles() {
            for a in &mut self.arguments {
                a.title = None;
            }
        }
        strip_listed(
            version,
            &mut self.title,
            &mut None,
            &mut self.icons,
            &mut self.meta,
        );
        self
    }
}

impl Implementation {
    /// The implementation as `version` describes one: `title` from 2025-06-18,
    /// `description` and `websiteUrl` from 2025-11-25.
    pub fn for_revision(mut self, version: ProtocolVersion) -> Implementation {
        if !version.has_titles() {
            self.title = None;
        }
        if !version.has_icons() {
            self.description = None;
            self.website_url = None;
        }
        self
    }
}

impl CallToolResult {
    /// The result as `version` carries it: no `structuredContent` before 2025-06-18 (its text
    /// copy in `content` stays).
    pub fn for_revision(mut self, version: ProtocolVersion) -> CallToolResult {
        if !version.has_structured_output() {
            self.structured_content = None;
        }
        self
    }
}

/// What a server can do, as `initialize` and `server/discover` announce it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ServerCapabilities {
    /// `tools/list` and `tools/call`, with `list_changed` notifications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<ListChanged>,
    /// The resource methods, with `list_changed` and subscriptions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesCapability>,
    /// The prompt methods, with `list_changed` notifications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompts: Option<ListChanged>,
    /// Log messages to the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logging: Option<JsonObject>,
    /// `completion/complete` (from 2025-03-26).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completions: Option<JsonObject>,
    /// Extensions, by identifier (2026-07-28).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extensions: Option<JsonObject>,
}

/// Extensions declared on the handshake revisions as well: the skills extension
/// (`io.modelcontextprotocol/skills`), whose methods and resources work in a session as
/// they do per request. (The capabilities object of those revisions is open: a server may
/// add its own.)
pub const HANDSHAKE_EXTENSIONS: &[&str] = &["io.modelcontextprotocol/skills"];

/// A capability whose list can change.
#[derive(Clone, Copy, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListChanged {
    /// The server sends `notifications/…/list_changed`.
    pub list_changed: bool,
}

/// The `resources` capability.
#[derive(Clone, Copy, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcesCapability {
    /// The client may subscribe to updates of a resource.
    pub subscribe: bool,
    /// The server sends `notifications/resources/list_changed`.
    pub list_changed: bool,
}

impl ServerCapabilities {
    /// The capabilities as `version` announces them: no `completions` before 2025-03-26, no
    /// `extensions` outside the per-request revision except those whose methods the
    /// handshake revisions serve too ([`HANDSHAKE_EXTENSIONS`]).
    pub fn for_revision(mut self, version: ProtocolVersion) -> ServerCapabilities {
        if !version.has_completions() {
            self.completions = None;
        }
        if !version.is_per_request() {
            self.extensions = self.extensions.and_then(|mut e| {
                e.retain(|k, _| HANDSHAKE_EXTENSIONS.contains(&k.as_str()));
                (!e.is_empty()).then_some(e)
            });
        }
        self
    }

    /// As the JSON object `InitializeResult` carries.
    pub fn into_object(self) -> JsonObject {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => JsonObject::new(),
        }
    }
}

impl InitializeResult {
    /// The `initialize` result of a server for `version`.
    pub fn for_revision(
        version: ProtocolVersion,
        capabilities: ServerCapabilities,
        server_info: Implementation,
        instructions: Option<String>,
    ) -> InitializeResult {
        InitializeResult {
            protocol_version: version.as_str().into(),
            capabilities: capabilities.for_revision(version).into_object(),
            server_info: server_info.for_revision(version),
            instructions,
        }
    }
}

/// `server/discover` result: the revisions the server speaks, newest first, and what it can
/// do in the per-request revision.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverResult {
    /// Every revision served, newest first.
    pub supported_versions: Vec<&'static str>,
    /// What the server can do.
    pub capabilities: JsonObject,
    /// How to use the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

impl DiscoverResult {
    /// The discovery result of a server with these capabilities.
    pub fn new(capabilities: ServerCapabilities, instructions: Option<String>) -> DiscoverResult {
        DiscoverResult {
            supported_versions: ProtocolVersion::ALL
                .iter()
                .rev()
                .map(|v| v.as_str())
                .collect(),
            capabilities: capabilities
                .for_revision(ProtocolVersion::PER_REQUEST)
                .into_object(),
            instructions,
        }
    }
}
