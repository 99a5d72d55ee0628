//! Resource and resource-template descriptors, as the `#[resource]` macro emits them, and
//! resources as a server holds them.

use serde_json::value::RawValue;

use crate::protocol::{
    Annotations, ProtocolVersion, Resource, ResourceContents, ResourceTemplate, Role,
};
use crate::server::handlers::call::{ArgSpec, HandlerFuture};
use crate::server::handlers::resource::{ResourceError, ResourceRead};
use crate::server::registration::catalog::Item;
use crate::server::registration::{Icon, Listing, icons, meta, origin, sourced};
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

    fn to_annotations(self) -> Option<Annotations> {
        let a = Annotations {
            audience: (!self.audience.is_empty()).then(|| self.audience.to_vec()),
            priority: self.priority,
            last_modified: self.last_modified.map(Into::into),
        };
        (a != Annotations::default()).then_some(a)
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
        let d = self.def;
        if self.template.is_some() {
            self.listing.get(version, || {
                ResourceTemplate {
                    uri_template: d.uri.into(),
                    name: d.name.into(),
                    title: d.title.map(Into::into),
                    description: d.description.map(Into::into),
                    mime_type: d.mime_type.map(Into::into),
                    annotations: d.annotations.to_annotations(),
                    icons: icons(d.icons),
                    meta: sourced(meta(d.meta), d.location),
                }
                .for_revision(version)
            })
        } else {
            self.listing.get(version, || {
                Resource {
                    uri: d.uri.into(),
                    name: d.name.into(),
                    title: d.title.map(Into::into),
                    description: d.description.map(Into::into),
                    mime_type: d.mime_type.map(Into::into),
                    size: d.size,
                    annotations: d.annotations.to_annotations(),
                    icons: icons(d.icons),
                    meta: sourced(meta(d.meta), d.location),
                }
                .for_revision(version)
            })
        }
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
