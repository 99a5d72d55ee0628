//! A JSON object kept as the client sent it and parsed the first time something reads it:
//! a request's `_meta` and a per-request client's capabilities, which most requests carry
//! and few handlers look at.

use std::sync::OnceLock;

use serde_json::value::RawValue;

use super::JsonObject;

/// A JSON object, as text until first read.
#[derive(Clone)]
pub(crate) struct LazyObject {
    /// The object as sent; `None` when it was built already parsed.
    raw: Option<Box<RawValue>>,
    /// `raw` holds the object as its `_meta` member (a request's params, kept whole so that
    /// `_meta` is not scanned for its end when nothing reads it).
    member: bool,
    parsed: OnceLock<JsonObject>,
}

/// What [`LazyObject::meta_of`] reads of its params.
#[derive(serde::Deserialize)]
struct MetaMember {
    #[serde(rename = "_meta", default)]
    meta: Option<JsonObject>,
}

impl LazyObject {
    /// `raw` when it is an object (checked by its first character: it is valid JSON).
    pub(crate) fn from_raw(raw: &RawValue) -> Option<LazyObject> {
        raw.get().starts_with('{').then(|| LazyObject {
            raw: Some(raw.to_owned()),
            member: false,
            parsed: OnceLock::new(),
        })
    }

    /// The `_meta` object of `params`, which the caller knows to be an object holding one
    /// (a per-request envelope was read from them).
    pub(crate) fn meta_of(params: &RawValue) -> LazyObject {
        LazyObject {
            raw: Some(params.to_owned()),
            member: true,
            parsed: OnceLock::new(),
        }
    }

    /// An object already parsed.
    pub(crate) fn parsed(object: JsonObject) -> LazyObject {
        LazyObject {
            raw: None,
            member: false,
            parsed: OnceLock::from(object),
        }
    }

    /// The object, parsed now if it was not yet.
    pub(crate) fn get(&self) -> &JsonObject {
        self.parsed.get_or_init(|| {
            let raw = self.raw.as_deref().map(RawValue::get);
            if self.member {
                return raw
                    .and_then(|raw| serde_json::from_str::<MetaMember>(raw).ok())
                    .and_then(|m| m.meta)
                    .unwrap_or_default();
            }
            raw.and_then(|raw| serde_json::from_str(raw).ok())
                .unwrap_or_default()
        })
    }
}

impl From<JsonObject> for LazyObject {
    fn from(object: JsonObject) -> LazyObject {
        LazyObject::parsed(object)
    }
}

impl Default for LazyObject {
    fn default() -> LazyObject {
        LazyObject::parsed(JsonObject::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_is_parsed_when_read_and_anything_else_is_refused() {
        let raw = |s: &str| RawValue::from_string(s.to_string()).unwrap();
        let lazy = LazyObject::from_raw(&raw(r#"{"a":{"b":[1,2]},"c":"d"}"#)).unwrap();
        assert!(lazy.parsed.get().is_none());
        assert_eq!(lazy.get()["a"]["b"][1], 2);
        assert_eq!(lazy.get()["c"], "d");
        assert!(LazyObject::from_raw(&raw("[1]")).is_none());
        assert!(LazyObject::from_raw(&raw("\"{\"")).is_none());
        assert!(LazyObject::from_raw(&raw("null")).is_none());
        assert!(LazyObject::default().get().is_empty());
        let params = raw(r#"{"name":"t","_meta":{"k":[1]},"arguments":{"_meta":2}}"#);
        let meta = LazyObject::meta_of(&params);
        assert!(meta.parsed.get().is_none());
        assert_eq!(meta.get().len(), 1);
        assert_eq!(meta.get()["k"][0], 1);
    }
}
