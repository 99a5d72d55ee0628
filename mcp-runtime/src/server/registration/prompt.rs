//! Prompt descriptors, as the `#[prompt]` macro emits them, and prompts as a server holds
//! them.

use serde_json::value::RawValue;

use crate::protocol::{ErrorObject, Prompt, PromptArgumentInfo, ProtocolVersion};
use crate::server::handlers::call::{ArgSpec, HandlerFuture};
use crate::server::handlers::prompt::{GetPromptResult, PromptGet};
use crate::server::registration::catalog::Item;
use crate::server::registration::{Icon, Listing, icons, meta, origin, sourced};

/// Everything the runtime knows about one prompt, as a static the `#[prompt]` macro emits.
#[derive(Debug)]
pub struct PromptDef {
    /// Programmatic name, unique per server.
    pub name: &'static str,
    /// Display name.
    pub title: Option<&'static str>,
    /// What the prompt is for; from the doc comment unless given.
    pub description: Option<&'static str>,
    /// The Rust module it was defined in (`module_path!()`).
    pub module_path: &'static str,
    /// Source file and line, for error messages.
    pub location: (&'static str, u32),
    /// Tags, for filtering.
    pub tags: &'static [&'static str],
    /// Icons.
    pub icons: &'static [Icon],
    /// `_meta`, as JSON object text.
    pub meta: Option<&'static str>,
    /// Lists the prompt's arguments.
    pub arguments: fn() -> Vec<PromptArgument>,
    /// Renders the prompt.
    pub handler: fn(PromptGet<'_>) -> PromptFuture,
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

inventory::collect!(PromptDef);

/// One argument of a prompt, as listed.
#[derive(Debug, Clone, Copy)]
pub struct PromptArgument {
    /// Name, description and completion function.
    pub spec: &'static ArgSpec,
    /// Whether the client must give it.
    pub required: bool,
}

/// The future of a prompt being rendered.
pub type PromptFuture = HandlerFuture<Result<GetPromptResult, ErrorObject>>;

/// A prompt being served.
pub(crate) struct PromptEntry {
    pub(crate) def: &'static PromptDef,
    pub(crate) arguments: Vec<PromptArgument>,
    listing: Listing,
}

impl PromptEntry {
    pub(crate) fn new(def: &'static PromptDef) -> PromptEntry {
        PromptEntry {
            def,
            arguments: (def.arguments)(),
            listing: Default::default(),
        }
    }

    /// The prompt's `prompts/list` item.
    pub(crate) fn listing(&self, version: ProtocolVersion) -> &RawValue {
        let d = self.def;
        self.listing.get(version, || {
            Prompt {
                name: d.name.into(),
                title: d.title.map(Into::into),
                description: d.description.map(Into::into),
                arguments: self
                    .arguments
                    .iter()
                    .map(|a| PromptArgumentInfo {
                        name: a.spec.name.into(),
                        title: None,
                        description: a.spec.description.map(Into::into),
                        required: a.required,
                    })
                    .collect(),
                icons: icons(d.icons),
                meta: sourced(meta(d.meta), d.location),
            }
            .for_revision(version)
        })
    }

    /// The listed argument with this name.
    pub(crate) fn argument(&self, name: &str) -> Option<&PromptArgument> {
        self.arguments.iter().find(|a| a.spec.name == name)
    }
}

impl Item for PromptEntry {
    fn kind(&self) -> &'static str {
        "prompt"
    }

    fn key(&self) -> &'static str {
        self.def.name
    }

    fn origin(&self) -> String {
        origin(self.def.location, self.def.module_path)
    }
}
