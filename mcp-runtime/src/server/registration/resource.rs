//! Resource and resource-template descriptors, as the `#[resource]` macro emits them, and
//! resources as a server holds them.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::protocol::{ProtocolVersion, ResourceContents, Role};
use crate::server::handlers::call::{ArgSpec, HandlerFuture};
use crate::server::handlers::resource::{ResourceError, ResourceRead};
use crate::server::registration::catalog::Item;
use crate::server::registration::{
    Icon, Listing, insert_icons_and_meta, insert_title_and_description, origin,
};
use crate::server::uri_template::UriTemplate;

/// Hints about a resource, for the client's display and selection.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResourceAnnotations {
    /// Who the resource is meant for.
    pub audience: &'static [Role],
    /// 0 (least) to 1 (most important).
    pub priority: Option<f64>,
    /// ISO 8601 time of the last change.
    pub last_modified: Option<&'static str>,
}

impl ResourceAnnotations {
    /// No hints.
    pub const NONE: ResourceAnnotations = ResourceAnnotations {
        audience: &[],
        priority: None,
        last_modified: None,
    };

    fn to_json(self, version: ProtocolVersion) -> Option<Value> {
        let mut m = Map::new();
        if !self.audience.is_empty() {
            m.insert(
                "audience".into(),
                serde_json::to_value(self.audience).unwrap_or_default(),
            );
        }
        if let Some(p) = self.priority {
            m.insert("priority".into(), p.into());
        }
        if let Some(t) = self.last_modified.filter(|_| version.has_titles()) {
            m.insert("lastModified".into(), t.into());
        }
        (!m.is_empty()).then_some(Value::Object(m))
    }
}

/// Everything the runtime knows about one resource or resource template, as a static the
/// `#[resource]` macro emits.
#[derive(Debug)]
pub struct ResourceDef {
    /// The URI, or an RFC 6570 URI template when it has `{…}` expressions.
    pub uri: &'static str,
    /// Programmatic name.
    pub name: &'static str,
    /// Display name.
    pub title: Option<&'static str>,
    /// What the resource is; from the doc comment unless given.
    pub description: Option<&'static str>,
    /// MIME type of its contents.
    pub mime_type: Option<&'static str>,
    /// Size in bytes, when known in advance.
    pub size: Option<u64>,
    /// Audience, priority and last modification.
    pub annotations: ResourceAnnotations,
    /// Icons.
    pub icons: &'static [Icon],
    /// `_meta`, as JSON object text.
    pub meta: Option<&'static str>,
    /// Tags, for filtering.
    pub tags: &'static [&'static str],
    /// The Rust module it was defined in (`module_path!()`).
    pub module_path: &'static str,
    /// Source file and line, for error messages.
    pub location: (&'static str, u32),
    /// The template's variables, with their completion functions.
    pub variables: &'static [&'static ArgSpec],
    /// Reads the resource.
    pub handler: fn(ResourceRead<'_>) -> ResourceFuture,
}

inventory::collect!(ResourceDef);

/// The future of a resource read.
pub type ResourceFuture = HandlerFuture<Result<Vec<ResourceContents>, ResourceError>>;

/// A resource or template being served.
pub(crate) struct ResourceEntry {
    pub(crate) def: &'static ResourceDef,
    pub(crate) template: Option<UriTemplate>,
    listing: Listing,
}

impl ResourceEntry {
    /// Parses the URI; fails when a template is not valid RFC 6570.
    pub(crate) fn new(def: &'static ResourceDef) -> Result<ResourceEntry, String> {
        let t = UriTemplate::parse(def.uri).map_err(|e| {
            format!(
                "resource `{}` at {}:{}: {e}",
                def.name, def.location.0, def.location.1
            )
        })?;
        Ok(ResourceEntry {
            def,
            template: (!t.is_fixed()).then_some(t),
            listing: Default::default(),
        })
    }

    /// The entry's `resources/list` or `resources/templates/list` item.
    pub(crate) fn listing(&self, version: ProtocolVersion) -> &RawValue {
        self.listing.get(version, || self.to_json(version))
    }

    fn to_json(&self, version: ProtocolVersion) -> Value {
        let d = self.def;
        let mut m = Map::new();
        let uri_key = if self.template.is_some() {
            "uriTemplate"
        } else {
            "uri"
        };
        m.insert(uri_key.into(), d.uri.into());
        m.insert("name".into(), d.name.into());
        insert_title_and_description(&mut m, version, d.title, d.description);
        if let Some(mime) = d.mime_type {
            m.insert("mimeType".into(), mime.into());
        }
        if let Some(size) = d.size.filter(|_| self.template.is_none()) {
            m.insert("size".into(), size.into());
        }
        if let Some(a) = d.annotations.to_json(version) {
            m.insert("annotations".into(), a);
        }
        insert_icons_and_meta(&mut m, version, d.icons, d.meta);
        Value::Object(m)
    }

    /// The completion function of a template variable, if it has one; `None` when the
    /// template has no such variable.
    pub(crate) fn variable(&self, name: &str) -> Option<&ArgSpec> {
        self.def.variables.iter().find(|v| v.name == name).copied()
    }
}

impl Item for ResourceEntry {
    fn kind(&self) -> &'static str {
        if self.template.is_some() {
            "resource template"
        } else {
            "resource"
        }
    }

    fn key(&self) -> &'static str {
        self.def.uri
    }

    fn origin(&self) -> String {
        origin(self.def.location, self.def.module_path)
    }
}
