//! Prompt descriptors, as the `#[prompt]` macro emits them, and prompts as a server holds
//! them.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::protocol::{ErrorObject, ProtocolVersion};
use crate::server::handlers::call::{ArgSpec, HandlerFuture};
use crate::server::handlers::prompt::{GetPromptResult, PromptGet};
use crate::server::registration::catalog::Item;
use crate::server::registration::{
    Icon, Listing, insert_icons_and_meta, insert_title_and_description, origin,
};

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
        self.listing.get(version, || self.to_json(version))
    }

    fn to_json(&self, version: ProtocolVersion) -> Value {
        let d = self.def;
        let mut m = Map::new();
        m.insert("name".into(), d.name.into());
        insert_title_and_description(&mut m, version, d.title, d.description);
        let args: Vec<Value> = self
            .arguments
            .iter()
            .map(|a| {
                let mut arg = Map::new();
                arg.insert("name".into(), a.spec.name.into());
                if let Some(desc) = a.spec.description {
                    arg.insert("description".into(), desc.into());
                }
                arg.insert("required".into(), a.required.into());
                Value::Object(arg)
            })
            .collect();
        m.insert("arguments".into(), Value::Array(args));
        insert_icons_and_meta(&mut m, version, d.icons, d.meta);
        Value::Object(m)
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
