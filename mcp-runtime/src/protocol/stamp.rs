//! What every result of the per-request revision carries, written while the result is
//! serialized: `resultType` (`complete` unless the result says otherwise), the server's
//! identity in `_meta` (merged into the result's own `_meta`), and the caching hints of the
//! methods that have them.
//!
//! [`Stamped`] wraps a result and serializes it through [`TopLevel`], a serializer that
//! passes the result's own fields through to `serde_json` and adds the stamp's fields before
//! the object closes, so a result is encoded once and never read back.

use std::cell::Cell;
use std::fmt::Display;
use std::sync::Arc;

use serde::ser::{self, Impossible, Serialize, SerializeMap, SerializeStruct};
use serde_json::value::RawValue;

use super::jsonrpc::Encoded;
use super::per_request::SERVER_INFO;
use super::{CacheHints, CacheScope, ErrorObject, RequestId, code};

/// How a session writes its responses: plainly (the handshake revisions), or stamped with
/// what every per-request result carries. Cheap to clone into a handler's future.
#[derive(Clone)]
pub(crate) struct Wire(Option<(Arc<RawValue>, Option<CacheHints>)>);

impl Wire {
    /// Responses as the handshake revisions write them.
    pub(crate) const fn plain() -> Wire {
        Wire(None)
    }

    /// Responses of the per-request revision: stamped with the server's identity (its
    /// `Implementation`, serialized) and, for cacheable methods, `hints`.
    pub(crate) fn stamped(server_info: Arc<RawValue>, hints: Option<CacheHints>) -> Wire {
        Wire(Some((server_info, hints)))
    }

    /// The stamp, for a session of the per-request revision.
    pub(crate) fn stamp(&self) -> Option<Stamp<'_>> {
        self.0.as_ref().map(|(info, hints)| Stamp {
            server_info: info,
            hints: *hints,
        })
    }

    /// A result response.
    pub(crate) fn result<T: Serialize + ?Sized>(&self, id: &RequestId, result: &T) -> Encoded {
        let Some(stamp) = self.stamp() else {
            return Encoded::result(id, result);
        };
        // The stamp's fields are appended as text after the result's own (the usual case: a
        // result with fields and no `_meta` of its own), not written through the serializer.
        let tail = Cell::new(None);
        let stamped = Stamped {
            result,
            stamp,
            tail: Some(&tail),
        };
        let written = Encoded::try_result_with(id, |out| {
            serde_json::to_writer(&mut *out, &stamped)?;
            if let Some(complete) = tail.get() {
                // The result's closing brace, reopened for the stamp.
                out.pop();
                stamp.write_fields(out, complete);
                out.push(b'}');
            }
            Ok(())
        });
        match written {
            Ok(encoded) => encoded,
            // Not an object: nothing to add to.
            Err(_) => Encoded::result(id, result),
        }
    }

    /// An error response. The per-request revision answers an unknown resource with
    /// invalid params (-32602), not the handshake revisions' -32002.
    pub(crate) fn error(&self, id: Option<&RequestId>, error: &ErrorObject) -> Encoded {
        if self.0.is_some() && error.code == code::RESOURCE_NOT_FOUND {
            let mut e = error.clone();
            e.code = code::INVALID_PARAMS;
            return Encoded::error(id, &e);
        }
        Encoded::error(id, error)
    }
}

/// What a per-request result is stamped with.
#[derive(Clone, Copy)]
pub(crate) struct Stamp<'a> {
    /// The server's `Implementation`, serialized once.
    pub(crate) server_info: &'a RawValue,
    /// The caching hints of a cacheable method.
    pub(crate) hints: Option<CacheHints>,
}

impl Stamp<'_> {
    fn ttl_ms(&self) -> Option<u64> {
        self.hints
            .map(|h| u64::try_from(h.ttl.as_millis()).unwrap_or(u64::MAX))
    }

    fn scope(&self) -> Option<&'static str> {
        self.hints.map(|h| match h.scope {
            CacheScope::Public => "public",
            CacheScope::Private => "private",
        })
    }

    /// The stamp's fields after an object's own, as JSON text: for results written by hand.
    /// `complete` says whether the result is final (it has no `resultType` of its own).
    pub(crate) fn write_fields(&self, out: &mut Vec<u8>, complete: bool) {
        if complete {
            out.extend_from_slice(b",\"resultType\":\"complete\"");
        }
        out.extend_from_slice(b",\"_meta\":{\"");
        out.extend_from_slice(SERVER_INFO.as_bytes());
        out.extend_from_slice(b"\":");
        out.extend_from_slice(self.server_info.get().as_bytes());
        out.push(b'}');
        if complete && let (Some(ttl), Some(scope)) = (self.ttl_ms(), self.scope()) {
            out.extend_from_slice(b",\"ttlMs\":");
            out.extend_from_slice(ttl.to_string().as_bytes());
            out.extend_from_slice(b",\"cacheScope\":\"");
            out.extend_from_slice(scope.as_bytes());
            out.push(b'"');
        }
    }
}

/// A result to serialize with its stamp.
pub(crate) struct Stamped<'a, T: ?Sized> {
    pub(crate) result: &'a T,
    pub(crate) stamp: Stamp<'a>,
    /// For a caller writing JSON text that appends the stamp's fields itself
    /// ([`Stamp::write_fields`]): set to whether the result is complete when they were left
    /// out, which is when the result has fields and no `_meta` of its own. Otherwise (and
    /// when `None`) they are written through the serializer.
    pub(crate) tail: Option<&'a Cell<Option<bool>>>,
}

impl<T: Serialize + ?Sized> Serialize for Stamped<'_, T> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.result.serialize(TopLevel {
            inner: s,
            stamp: self.stamp,
            tail: self.tail,
        })
    }
}

/// `_meta: {serverInfo}` for a result without a `_meta` of its own.
struct OnlyServerInfo<'a>(&'a RawValue);

impl Serialize for OnlyServerInfo<'_> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(SERVER_INFO, self.0)?;
        m.end()
    }
}

/// A result's own `_meta`, with the server's identity added.
struct MergedMeta<'a, T: ?Sized> {
    meta: &'a T,
    server_info: &'a RawValue,
}

impl<T: Serialize + ?Sized> Serialize for MergedMeta<'_, T> {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.meta.serialize(MetaLevel {
            inner: s,
            server_info: self.server_info,
        })
    }
}

fn not_an_object<E: ser::Error>(what: &str) -> E {
    E::custom(format_args!(
        "a per-request result must serialize as an object, not {what}"
    ))
}

/// The name of a map key, when it is a string.
fn key_name<K: Serialize + ?Sized>(key: &K) -> Option<String> {
    match serde_json::to_value(key) {
        Ok(serde_json::Value::String(s)) => Some(s),
        _ => None,
    }
}

/// The serializers below accept objects (structs and maps) and what wraps one (`Some`,
/// newtype structs); everything else is an error, and the caller falls back to the result
/// unstamped.
macro_rules! only_objects {
    () => {
        fn serialize_bool(self, _: bool) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("a boolean"))
        }
        fn serialize_i8(self, _: i8) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("a number"))
        }
        fn serialize_i16(self, _: i16) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("a number"))
        }
        fn serialize_i32(self, _: i32) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("a number"))
        }
        fn serialize_i64(self, _: i64) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("a number"))
        }
        fn serialize_u8(self, _: u8) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("a number"))
        }
        fn serialize_u16(self, _: u16) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("a number"))
        }
        fn serialize_u32(self, _: u32) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("a number"))
        }
        fn serialize_u64(self, _: u64) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("a number"))
        }
        fn serialize_f32(self, _: f32) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("a number"))
        }
        fn serialize_f64(self, _: f64) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("a number"))
        }
        fn serialize_char(self, _: char) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("a string"))
        }
        fn serialize_str(self, _: &str) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("a string"))
        }
        fn serialize_bytes(self, _: &[u8]) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("bytes"))
        }
        fn serialize_none(self) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("null"))
        }
        fn serialize_unit(self) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("null"))
        }
        fn serialize_unit_struct(self, _: &'static str) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("null"))
        }
        fn serialize_unit_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
        ) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("a string"))
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<Self::Ok, Self::Error> {
            Err(not_an_object("an enum variant"))
        }
        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
            Err(not_an_object("an array"))
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Self::Error> {
            Err(not_an_object("an array"))
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, Self::Error> {
            Err(not_an_object("an array"))
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Self::Error> {
            Err(not_an_object("an enum variant"))
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Self::Error> {
            Err(not_an_object("an enum variant"))
        }
    };
}

/// The serializer of a result: its fields pass through, the stamp's are added.
struct TopLevel<'a, S> {
    inner: S,
    stamp: Stamp<'a>,
    tail: Option<&'a Cell<Option<bool>>>,
}

/// serde_json's name for a `RawValue` passing through a serializer: text that cannot be
/// added to, which the caller stamps by hand.
const RAW_VALUE: &str = "$serde_json::private::RawValue";

impl<'a, S: ser::Serializer> ser::Serializer for TopLevel<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Impossible<S::Ok, S::Error>;
    type SerializeTuple = Impossible<S::Ok, S::Error>;
    type SerializeTupleStruct = Impossible<S::Ok, S::Error>;
    type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
    type SerializeMap = StampMap<'a, S::SerializeMap>;
    type SerializeStruct = StampStruct<'a, S::SerializeStruct>;
    type SerializeStructVariant = Impossible<S::Ok, S::Error>;

    only_objects!();

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(self)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        Ok(StampMap {
            inner: self.inner.serialize_map(None)?,
            stamp: self.stamp,
            tail: self.tail,
            next: Key::Other,
            saw_meta: false,
            complete: true,
            empty: true,
        })
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        if name == RAW_VALUE {
            return Err(not_an_object("raw JSON"));
        }
        Ok(StampStruct {
            inner: self.inner.serialize_struct(name, len + 4)?,
            stamp: self.stamp,
            tail: self.tail,
            saw_meta: false,
            complete: true,
            empty: true,
        })
    }

    fn collect_str<T: Display + ?Sized>(self, _: &T) -> Result<S::Ok, S::Error> {
        Err(not_an_object("a string"))
    }
}

/// Which key a map entry has, for what its value needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Key {
    Meta,
    ResultType,
    ServerInfo,
    Other,
}

fn classify(name: Option<&str>) -> Key {
    match name {
        Some("_meta") => Key::Meta,
        Some("resultType") => Key::ResultType,
        Some(SERVER_INFO) => Key::ServerInfo,
        _ => Key::Other,
    }
}

struct StampStruct<'a, I> {
    inner: I,
    stamp: Stamp<'a>,
    tail: Option<&'a Cell<Option<bool>>>,
    saw_meta: bool,
    complete: bool,
    /// No field written yet (the stamp's text, which starts with a comma, needs one).
    empty: bool,
}

/// Whether the stamp's fields are left to the caller: there is a caller to append them,
/// and the object has a field before them and no `_meta` to merge them into. Tells it
/// whether the result is complete.
fn defer(tail: Option<&Cell<Option<bool>>>, empty: bool, saw_meta: bool, complete: bool) -> bool {
    match tail {
        Some(tail) if !empty && !saw_meta => {
            tail.set(Some(complete));
            true
        }
        _ => false,
    }
}

impl<I: SerializeStruct> SerializeStruct for StampStruct<'_, I> {
    type Ok = I::Ok;
    type Error = I::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), I::Error> {
        self.empty = false;
        match classify(Some(key)) {
            Key::Meta => {
                self.saw_meta = true;
                self.inner.serialize_field(
                    key,
                    &MergedMeta {
                        meta: value,
                        server_info: self.stamp.server_info,
                    },
                )
            }
            Key::ResultType => {
                self.complete = false;
                self.inner.serialize_field(key, value)
            }
            _ => self.inner.serialize_field(key, value),
        }
    }

    fn end(mut self) -> Result<I::Ok, I::Error> {
        let stamp = self.stamp;
        if defer(self.tail, self.empty, self.saw_meta, self.complete) {
            return self.inner.end();
        }
        if self.complete {
            self.inner.serialize_field("resultType", "complete")?;
        }
        if !self.saw_meta {
            self.inner
                .serialize_field("_meta", &OnlyServerInfo(stamp.server_info))?;
        }
        if self.complete
            && let (Some(ttl), Some(scope)) = (stamp.ttl_ms(), stamp.scope())
        {
            self.inner.serialize_field("ttlMs", &ttl)?;
            self.inner.serialize_field("cacheScope", scope)?;
        }
        self.inner.end()
    }
}

struct StampMap<'a, I> {
    inner: I,
    stamp: Stamp<'a>,
    tail: Option<&'a Cell<Option<bool>>>,
    next: Key,
    saw_meta: bool,
    complete: bool,
    /// No entry written yet.
    empty: bool,
}

impl<I: SerializeMap> SerializeMap for StampMap<'_, I> {
    type Ok = I::Ok;
    type Error = I::Error;

    fn serialize_key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<(), I::Error> {
        self.empty = false;
        self.next = classify(key_name(key).as_deref());
        match self.next {
            Key::Meta => self.saw_meta = true,
            Key::ResultType => self.complete = false,
            _ => {}
        }
        self.inner.serialize_key(key)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), I::Error> {
        if self.next == Key::Meta {
            self.inner.serialize_value(&MergedMeta {
                meta: value,
                server_info: self.stamp.server_info,
            })
        } else {
            self.inner.serialize_value(value)
        }
    }

    fn end(mut self) -> Result<I::Ok, I::Error> {
        let stamp = self.stamp;
        if defer(self.tail, self.empty, self.saw_meta, self.complete) {
            return self.inner.end();
        }
        if self.complete {
            self.inner.serialize_entry("resultType", "complete")?;
        }
        if !self.saw_meta {
            self.inner
                .serialize_entry("_meta", &OnlyServerInfo(stamp.server_info))?;
        }
        if self.complete
            && let (Some(ttl), Some(scope)) = (stamp.ttl_ms(), stamp.scope())
        {
            self.inner.serialize_entry("ttlMs", &ttl)?;
            self.inner.serialize_entry("cacheScope", scope)?;
        }
        self.inner.end()
    }
}

/// The serializer of a result's own `_meta`: its entries pass through, and the server's
/// identity is added (replacing one the result carried).
struct MetaLevel<'a, S> {
    inner: S,
    server_info: &'a RawValue,
}

impl<'a, S: ser::Serializer> ser::Serializer for MetaLevel<'a, S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = Impossible<S::Ok, S::Error>;
    type SerializeTuple = Impossible<S::Ok, S::Error>;
    type SerializeTupleStruct = Impossible<S::Ok, S::Error>;
    type SerializeTupleVariant = Impossible<S::Ok, S::Error>;
    type SerializeMap = MetaMap<'a, S::SerializeMap>;
    type SerializeStruct = MetaStruct<'a, S::SerializeStruct>;
    type SerializeStructVariant = Impossible<S::Ok, S::Error>;

    only_objects!();

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(self)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, S::Error> {
        Ok(MetaMap {
            inner: self.inner.serialize_map(None)?,
            server_info: self.server_info,
            skip: false,
        })
    }

    fn serialize_struct(
        self,
        name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStruct, S::Error> {
        if name == RAW_VALUE {
            return Err(not_an_object("raw JSON"));
        }
        Ok(MetaStruct {
            inner: self.inner.serialize_struct(name, len + 1)?,
            server_info: self.server_info,
        })
    }

    fn collect_str<T: Display + ?Sized>(self, _: &T) -> Result<S::Ok, S::Error> {
        Err(not_an_object("a string"))
    }
}

struct MetaMap<'a, I> {
    inner: I,
    server_info: &'a RawValue,
    /// The entry being written is the server's identity, which the stamp replaces.
    skip: bool,
}

impl<I: SerializeMap> SerializeMap for MetaMap<'_, I> {
    type Ok = I::Ok;
    type Error = I::Error;

    fn serialize_key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<(), I::Error> {
        self.skip = classify(key_name(key).as_deref()) == Key::ServerInfo;
        if self.skip {
            return Ok(());
        }
        self.inner.serialize_key(key)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), I::Error> {
        if self.skip {
            return Ok(());
        }
        self.inner.serialize_value(value)
    }

    fn end(mut self) -> Result<I::Ok, I::Error> {
        self.inner.serialize_entry(SERVER_INFO, self.server_info)?;
        self.inner.end()
    }
}

struct MetaStruct<'a, I> {
    inner: I,
    server_info: &'a RawValue,
}

impl<I: SerializeStruct> SerializeStruct for MetaStruct<'_, I> {
    type Ok = I::Ok;
    type Error = I::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), I::Error> {
        if key == SERVER_INFO {
            return Ok(());
        }
        self.inner.serialize_field(key, value)
    }

    fn end(mut self) -> Result<I::Ok, I::Error> {
        self.inner.serialize_field(SERVER_INFO, self.server_info)?;
        self.inner.end()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::*;

    fn stamped(result: &impl Serialize, hints: Option<CacheHints>) -> Value {
        let info = serde_json::value::to_raw_value(&json!({"name": "s", "version": "1"})).unwrap();
        let stamp = Stamp {
            server_info: &info,
            hints,
        };
        serde_json::to_value(Stamped {
            result,
            stamp,
            tail: None,
        })
        .unwrap()
    }

    #[derive(serde::Serialize)]
    struct Typed {
        content: Vec<u32>,
        #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
        meta: Option<Value>,
    }

    #[test]
    fn a_result_gets_its_type_the_server_and_the_hints() {
        let hints = CacheHints {
            ttl: Duration::from_millis(1500),
            scope: CacheScope::Private,
        };
        let v = stamped(
            &Typed {
                content: vec![1],
                meta: None,
            },
            Some(hints),
        );
        assert_eq!(
            v,
            json!({
                "content": [1],
                "resultType": "complete",
                "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "s", "version": "1"}},
                "ttlMs": 1500,
                "cacheScope": "private",
            })
        );
    }

    #[test]
    fn a_result_of_its_own_type_keeps_it_and_gets_no_hints() {
        let hints = CacheHints::default();
        let v = stamped(
            &json!({"resultType": "input_required", "inputRequests": {}}),
            Some(hints),
        );
        assert_eq!(
            v,
            json!({
                "resultType": "input_required",
                "inputRequests": {},
                "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "s", "version": "1"}},
            })
        );
    }

    #[test]
    fn the_results_own_meta_is_kept_and_the_server_added() {
        let typed = Typed {
            content: vec![],
            meta: Some(json!({"k": 1, "io.modelcontextprotocol/serverInfo": "forged"})),
        };
        let v = stamped(&typed, None);
        assert_eq!(
            v["_meta"],
            json!({"k": 1, "io.modelcontextprotocol/serverInfo": {"name": "s", "version": "1"}})
        );
        assert_eq!(v["resultType"], "complete");
        assert!(v.get("ttlMs").is_none());
        let map = stamped(&json!({"_meta": {"k": 2}}), None);
        assert_eq!(map["_meta"]["k"], 2);
        assert_eq!(
            map["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
            "s"
        );
    }

    #[test]
    fn what_is_not_an_object_cannot_be_stamped() {
        let info = serde_json::value::to_raw_value(&json!({})).unwrap();
        let stamp = Stamp {
            server_info: &info,
            hints: None,
        };
        assert!(
            serde_json::to_vec(&Stamped {
                result: &5,
                stamp,
                tail: None
            })
            .is_err()
        );
        let raw = serde_json::value::to_raw_value(&json!({"a": 1})).unwrap();
        assert!(
            serde_json::to_vec(&Stamped {
                result: &raw,
                stamp,
                tail: None
            })
            .is_err()
        );
    }

    #[test]
    fn hand_written_fields_match_the_serializer() {
        let info = serde_json::value::to_raw_value(&json!({"name": "s", "version": "1"})).unwrap();
        let stamp = Stamp {
            server_info: &info,
            hints: Some(CacheHints::default()),
        };
        let mut out = b"{\"tools\":[]".to_vec();
        stamp.write_fields(&mut out, true);
        out.push(b'}');
        let by_hand: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            by_hand,
            stamped(&json!({"tools": []}), Some(CacheHints::default()))
        );
    }

    #[test]
    fn a_stamped_response_is_the_envelope_around_the_serialized_stamp() {
        let info = serde_json::value::to_raw_value(&json!({"name": "s", "version": "1"})).unwrap();
        let results = [
            serde_json::to_value(Typed {
                content: vec![1],
                meta: None,
            })
            .unwrap(),
            json!({}),
            json!({"resultType": "input_required", "inputRequests": {}}),
            json!({"_meta": {"k": 1}, "content": []}),
        ];
        for hints in [None, Some(CacheHints::default())] {
            let wire = Wire::stamped(Arc::from(info.clone()), hints);
            for id in [RequestId::Number(7), RequestId::String("a\"b".into())] {
                let typed = Typed {
                    content: vec![2],
                    meta: None,
                };
                let check = |bytes: Vec<u8>, expected: Value| {
                    let text = String::from_utf8(bytes).unwrap();
                    let read: Value = serde_json::from_str(&text).unwrap();
                    assert_eq!(
                        read,
                        json!({"jsonrpc": "2.0", "id": id, "result": expected})
                    );
                    assert!(text.starts_with("{\"jsonrpc\":\"2.0\",\"id\":"), "{text}");
                };
                check(wire.result(&id, &typed).bytes, stamped(&typed, hints));
                for result in &results {
                    check(wire.result(&id, result).bytes, stamped(result, hints));
                }
                // Not an object: sent as it is.
                check(wire.result(&id, &5).bytes, json!(5));
            }
        }
    }
}
