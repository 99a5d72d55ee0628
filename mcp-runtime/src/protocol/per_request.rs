//! The per-request revision (2026-07-28) on the wire: what a request's `_meta` carries and
//! how it is checked, the methods the revision removed, and what every result carries.

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::jsonrpc::WireMessage;
use super::lazy::LazyObject;
use super::{ErrorObject, Implementation, Incoming, JsonObject, LogLevel, ProtocolVersion, code};

pub(crate) const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
pub(crate) const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
pub(crate) const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
pub(crate) const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
pub(crate) const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
pub(crate) const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

/// Methods of the handshake revisions that 2026-07-28 removed.
pub(crate) const HANDSHAKE_ONLY: [&str; 5] = [
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

/// Results that carry `ttlMs` and `cacheScope`.
pub(crate) const CACHEABLE: [&str; 9] = [
    "server/discover",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    // The skills extension (SEP-2640).
    "skills/list",
    "skills/get",
    "resources/directory/read",
];

/// What the per-request revision reads of a request's params, parsed once at the edge: the
/// `_meta` keys that say who sends it, and the fields its routing and rounds look at. The
/// rest (arguments, a tool's own `_meta` keys) is left for the method to parse. Everything
/// is borrowed from the request's text: nothing is built until [`Envelope::check`] takes
/// what the request's session keeps.
#[derive(Default, Deserialize)]
pub(crate) struct Envelope<'a> {
    /// Read only when it is an object (an array, which a struct's parse would also take by
    /// position, fails the envelope), so a request with an envelope has an object `_meta`.
    #[serde(rename = "_meta", borrow, default, deserialize_with = "object_only")]
    meta: Option<MetaFields<'a>>,
    /// Whether `_meta` was there (as an object) before [`Envelope::check`] took it.
    #[serde(skip)]
    had_meta: bool,
    /// A tool's or prompt's name.
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    /// A resource's URI.
    #[serde(borrow, default)]
    uri: Option<&'a RawValue>,
    /// The task of `tasks/get`, `tasks/update` and `tasks/cancel`.
    #[serde(rename = "taskId", borrow, default)]
    task_id: Option<&'a RawValue>,
    /// A tool call's arguments, read only when a tool mirrors some into headers.
    #[serde(borrow, default)]
    pub(crate) arguments: Option<&'a RawValue>,
    /// Answers to an `input_required` result.
    #[serde(rename = "inputResponses", borrow, default)]
    pub(crate) input_responses: Option<&'a RawValue>,
    /// The sealed answers of earlier rounds.
    #[serde(rename = "requestState", borrow, default)]
    pub(crate) request_state: Option<&'a RawValue>,
}

/// The `_meta` keys of the per-request revision, as sent (`null` reads as absent); other
/// keys are skipped unread.
#[derive(Default, Deserialize)]
struct MetaFields<'a> {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", borrow, default)]
    version: Option<&'a RawValue>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", borrow, default)]
    capabilities: Option<&'a RawValue>,
    #[serde(rename = "io.modelcontextprotocol/clientInfo", borrow, default)]
    info: Option<&'a RawValue>,
    #[serde(rename = "io.modelcontextprotocol/logLevel", borrow, default)]
    log_level: Option<&'a RawValue>,
}

impl<'a> Envelope<'a> {
    /// The envelope of a request whose `_meta` names a revision: it is served by the
    /// per-request rules. The cheap test first (the key's text), then one parse.
    pub(crate) fn sniff(params: Option<&'a RawValue>) -> Option<Envelope<'a>> {
        let raw = params?;
        if !names_revision(raw.get()) {
            return None;
        }
        serde_json::from_str::<Envelope<'a>>(raw.get())
            .ok()
            .filter(|e| e.meta.as_ref().is_some_and(|m| m.version.is_some()))
    }

    /// The envelope of a request the transport already knows is per-request; params that
    /// are not an object leave it empty, and [`Envelope::check`] says what is missing.
    pub(crate) fn parse(params: Option<&'a RawValue>) -> Envelope<'a> {
        params
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or_default()
    }

    /// The checks every per-request request passes first, in the order the revision gives:
    /// `_meta` complete (-32602), `MCP-Protocol-Version` equal to it (-32020), the revision
    /// one the server speaks (-32022). Takes who sends the request out of the envelope.
    pub(crate) fn check(
        &mut self,
        header_version: Option<&str>,
    ) -> Result<RequestMeta, ErrorObject> {
        self.had_meta |= self.meta.is_some();
        let meta = self.meta.take().ok_or_else(|| {
            ErrorObject::invalid_params(format!(
                "Invalid params: the request has no `_meta`; 2026-07-28 requests carry `{PROTOCOL_VERSION}` and `{CLIENT_CAPABILITIES}` in it"
            ))
        })?;
        let (requested, meta) = meta.into_request_meta()?;
        if let Some(h) = header_version
            && h != requested
        {
            return Err(ErrorObject::new(
                code::HEADER_MISMATCH,
                format!(
                    "Header mismatch: MCP-Protocol-Version is `{h}` but `_meta.{PROTOCOL_VERSION}` is `{requested}`"
                ),
            ));
        }
        match ProtocolVersion::parse_any(&requested) {
            Some(v) if v.is_per_request() => Ok(RequestMeta { version: v, ..meta }),
            _ => Err(unsupported_version(&requested)),
        }
    }

    /// Whether the params have a `_meta` object (checked or not).
    pub(crate) fn has_meta(&self) -> bool {
        self.had_meta || self.meta.is_some()
    }

    /// The name of a `tools/call` and its arguments (`None` for `null`) as the call reads
    /// them, from this envelope of `params`: `None` when the envelope cannot tell (the
    /// params are not an object, the name is not a string, the arguments not an object),
    /// for the full parse to refuse with its message.
    pub(crate) fn call(&self, params: &RawValue) -> Option<(Cow<'a, str>, Option<JsonObject>)> {
        if !params.get().starts_with('{') {
            return None;
        }
        let name = self.name.filter(|raw| raw.get().starts_with('"'))?;
        let name = string_of(name)?;
        let arguments = match self.arguments {
            None => None,
            Some(raw) => serde_json::from_str::<Option<JsonObject>>(raw.get()).ok()?,
        };
        Some((name, arguments))
    }

    /// What the request is about, by method: a tool's or prompt's name, a resource's URI, a
    /// task's id (`None` when absent or not a string). Borrowed unless it has escapes.
    pub(crate) fn target(&self, method: &str) -> Option<Cow<'a, str>> {
        let raw = match method {
            "tools/call" | "prompts/get" => self.name,
            "resources/read" => self.uri,
            "tasks/get" | "tasks/update" | "tasks/cancel" => self.task_id,
            _ => None,
        }?;
        string_of(raw)
    }
}

/// An optional object: `null` reads as absent, anything but an object fails.
fn object_only<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct Object<T>(T);
    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Object<T>, D::Error> {
            struct Fields<T>(std::marker::PhantomData<T>);
            impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Fields<T> {
                type Value = T;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                    T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                }
            }
            d.deserialize_map(Fields(std::marker::PhantomData))
                .map(Object)
        }
    }
    Ok(Option::<Object<T>>::deserialize(deserializer)?.map(|o| o.0))
}

/// Whether `text` holds [`PROTOCOL_VERSION`]: at one of its slashes (which most params have
/// none of, and found by a byte search), the key's two halves. The test every request of
/// every revision passes through, so it builds no substring searcher.
pub(crate) fn names_revision(text: &str) -> bool {
    const SLASH: usize = PROTOCOL_VERSION.len() - "/protocolVersion".len();
    let (head, tail) = PROTOCOL_VERSION.split_at(SLASH);
    text.match_indices('/')
        .any(|(i, _)| text[..i].ends_with(head) && text[i..].starts_with(tail))
}

/// A JSON string's text: borrowed when it has no escapes (valid JSON, so nothing else
/// between its quotes needs decoding).
fn string_of(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"'))
        && !inner.contains('\\')
    {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(text).ok().map(Cow::Owned)
}

/// `raw` read as a `T`; a value that is not one fails with the message reading it as a
/// [`Value`] first gives (the message clients have always been given).
fn read_as<T: serde::de::DeserializeOwned>(raw: &RawValue) -> Result<T, serde_json::Error> {
    serde_json::from_str(raw.get()).or_else(|e| {
        serde_json::from_str::<Value>(raw.get())
            .map_err(|_| e)
            .and_then(serde_json::from_value)
    })
}

impl<'a> MetaFields<'a> {
    /// The revision the request names, and who sends it (at the revision the server speaks,
    /// until [`Envelope::check`] has checked the one named).
    fn into_request_meta(self) -> Result<(Cow<'a, str>, RequestMeta), ErrorObject> {
        let Some(version) = self
            .version
            .filter(|raw| raw.get().starts_with('"'))
            .and_then(string_of)
        else {
            return Err(ErrorObject::invalid_params(format!(
                "Invalid params: `_meta` has no `{PROTOCOL_VERSION}` string"
            )));
        };
        let Some(capabilities) = self.capabilities.and_then(LazyObject::from_raw) else {
            return Err(ErrorObject::invalid_params(format!(
                "Invalid params: `_meta` has no `{CLIENT_CAPABILITIES}` object"
            )));
        };
        let info = self
            .info
            .map(read_as::<Implementation>)
            .transpose()
            .map_err(|e| {
                ErrorObject::invalid_params(format!("Invalid params: `_meta.{CLIENT_INFO}`: {e}"))
            })?;
        let log_level = self
            .log_level
            .map(read_as::<LogLevel>)
            .transpose()
            .map_err(|e| {
                ErrorObject::invalid_params(format!("Invalid params: `_meta.{LOG_LEVEL}`: {e}"))
            })?;
        Ok((
            version,
            RequestMeta {
                version: ProtocolVersion::PER_REQUEST,
                capabilities,
                info,
                log_level,
            },
        ))
    }
}

/// A message whose params name the per-request revision, read in one pass: the params are
/// read into their [`Envelope`] (the `_meta` keys and routing fields, each value borrowed)
/// while the positions of their first key and last value give their text, instead of
/// reading the params once as text and then again for the envelope. Only the plain case is
/// taken here: params an object whose keys have no escapes, with no key twice, `_meta` an
/// object with at least one key, naming the revision. Anything else (and anything that
/// fails) is `None`, for [`Incoming::parse`] and [`Envelope::sniff`] to read as they
/// always have, so the outcome, errors included, is theirs. For a `text` that
/// [`names_revision`].
pub(crate) fn sniff_message(text: &str) -> Option<(Incoming<'_>, Envelope<'_>)> {
    if text.trim_start().starts_with('[') {
        return None;
    }
    let msg: WireMessage<'_, Sniffed<'_>> = serde_json::from_str(text).ok()?;
    let mut envelope = None;
    let msg = msg.map_params(|params| {
        let sniffed = params?;
        let start = offset_of(text, sniffed.first_key)?;
        let end = offset_of(text, sniffed.last_value)? + sniffed.last_value.len();
        // Before the first key: its quote, then the object's brace.
        let head = text[..start].strip_suffix('"')?.trim_end();
        let start = head.strip_suffix('{')?.len();
        // After the last value: the braces it closes, `_meta`'s when it was the last key.
        let mut rest = &text[end..];
        for _ in 0..sniffed.closing {
            rest = rest.trim_start().strip_prefix('}')?;
        }
        let raw = borrowed_raw(&text[start..text.len() - rest.len()])?;
        envelope = Some(sniffed.envelope);
        Some(raw)
    });
    let envelope = envelope?;
    match Incoming::from_wire(msg) {
        Ok(request @ Incoming::Request { .. }) => Some((request, envelope)),
        _ => None,
    }
}

/// Where `part`, a slice of `text`, starts in it.
fn offset_of(text: &str, part: &str) -> Option<usize> {
    let at = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    (at + part.len() <= text.len()).then_some(at)
}

/// JSON text already read as a value, as a `RawValue` borrowing it. serde_json builds a
/// borrowed `RawValue` from a map of its private key to the text; this hands it that map.
fn borrowed_raw(json: &str) -> Option<&RawValue> {
    use serde::de::value::{BorrowedStrDeserializer, Error, MapAccessDeserializer};
    struct Text<'a>(Option<&'a str>);
    impl<'de> serde::de::MapAccess<'de> for Text<'de> {
        type Error = Error;
        fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, Error> {
            if self.0.is_none() {
                return Ok(None);
            }
            seed.deserialize(BorrowedStrDeserializer::new(RAW_VALUE_KEY))
                .map(Some)
        }
        fn next_value_seed<V: serde::de::DeserializeSeed<'de>>(
            &mut self,
            seed: V,
        ) -> Result<V::Value, Error> {
            let text = self
                .0
                .take()
                .ok_or_else(|| <Error as serde::de::Error>::custom("a raw value has one entry"))?;
            seed.deserialize(BorrowedStrDeserializer::new(text))
        }
    }
    <&RawValue>::deserialize(MapAccessDeserializer::new(Text(Some(json)))).ok()
}

/// The key serde_json's `RawValue` is passed under.
const RAW_VALUE_KEY: &str = "$serde_json::private::RawValue";

/// Params read by [`sniff_message`].
struct Sniffed<'a> {
    envelope: Envelope<'a>,
    /// The first key's text (between its quotes).
    first_key: &'a str,
    /// The last value read: the last top-level value's text, or `_meta`'s last value's.
    last_value: &'a str,
    /// The braces that close after `last_value`: 1, or 2 when `_meta` was the last key.
    closing: usize,
}

/// A key with no escapes, as it is in the text; one with escapes fails the sniff.
struct PlainKey<'a>(&'a str);

impl<'de> Deserialize<'de> for PlainKey<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = PlainKey<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a key without escapes")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(PlainKey(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// A value kept as text, `None` for `null` (what an `Option<&RawValue>` field reads).
fn non_null(raw: &RawValue) -> Option<&RawValue> {
    (raw.get() != "null").then_some(raw)
}

/// Sets a field read once; a second time fails the sniff (the envelope's parse refuses a
/// duplicate field).
fn once<'a, E: serde::de::Error>(
    field: &mut Option<Option<&'a RawValue>>,
    raw: &'a RawValue,
) -> Result<(), E> {
    if field.replace(non_null(raw)).is_some() {
        return Err(E::custom("duplicate field"));
    }
    Ok(())
}

impl<'de> Deserialize<'de> for Sniffed<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Sniffed<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("params")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let mut first_key = None;
                let mut last_value = None;
                let mut closing = 1;
                let mut meta = None;
                let (mut name, mut uri, mut task_id, mut arguments) = (None, None, None, None);
                let (mut input_responses, mut request_state) = (None, None);
                while let Some(PlainKey(key)) = map.next_key()? {
                    first_key.get_or_insert(key);
                    if key == "_meta" {
                        let m: SniffedMeta<'de> = map.next_value()?;
                        if meta.replace(m.fields).is_some() {
                            return Err(A::Error::custom("duplicate field"));
                        }
                        last_value = Some(m.last_value);
                        closing = 2;
                        continue;
                    }
                    let raw: &'de RawValue = map.next_value()?;
                    last_value = Some(raw.get());
                    closing = 1;
                    match key {
                        "name" => once(&mut name, raw)?,
                        "uri" => once(&mut uri, raw)?,
                        "taskId" => once(&mut task_id, raw)?,
                        "arguments" => once(&mut arguments, raw)?,
                        "inputResponses" => once(&mut input_responses, raw)?,
                        "requestState" => once(&mut request_state, raw)?,
                        _ => {}
                    }
                }
                let meta = meta.ok_or_else(|| A::Error::custom("no _meta"))?;
                Ok(Sniffed {
                    envelope: Envelope {
                        meta: Some(meta),
                        had_meta: false,
                        name: name.flatten(),
                        uri: uri.flatten(),
                        task_id: task_id.flatten(),
                        arguments: arguments.flatten(),
                        input_responses: input_responses.flatten(),
                        request_state: request_state.flatten(),
                    },
                    first_key: first_key.ok_or_else(|| A::Error::custom("no keys"))?,
                    last_value: last_value.ok_or_else(|| A::Error::custom("no keys"))?,
                    closing,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// A `_meta` read by [`sniff_message`]: an object with keys, naming the revision.
struct SniffedMeta<'a> {
    fields: MetaFields<'a>,
    last_value: &'a str,
}

impl<'de> Deserialize<'de> for SniffedMeta<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = SniffedMeta<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::de::Error;
                let mut last_value = None;
                let (mut version, mut capabilities, mut info, mut log_level) =
                    (None, None, None, None);
                while let Some(PlainKey(key)) = map.next_key()? {
                    let raw: &'de RawValue = map.next_value()?;
                    last_value = Some(raw.get());
                    match key {
                        PROTOCOL_VERSION => once(&mut version, raw)?,
                        CLIENT_CAPABILITIES => once(&mut capabilities, raw)?,
                        CLIENT_INFO => once(&mut info, raw)?,
                        LOG_LEVEL => once(&mut log_level, raw)?,
                        _ => {}
                    }
                }
                let fields = MetaFields {
                    version: version.flatten(),
                    capabilities: capabilities.flatten(),
                    info: info.flatten(),
                    log_level: log_level.flatten(),
                };
                if fields.version.is_none() {
                    return Err(A::Error::custom("no revision"));
                }
                Ok(SniffedMeta {
                    fields,
                    last_value: last_value.ok_or_else(|| A::Error::custom("no keys"))?,
                })
            }
        }
        d.deserialize_map(V)
    }
}

/// The result of a request whose handler waits on the client: what it asks, by key, and the
/// sealed answers so far, for the client to call again with.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InputRequiredResult {
    /// Always `input_required`.
    pub(crate) result_type: &'static str,
    /// The requests to the client (`{method, params}`), by key.
    pub(crate) input_requests: JsonObject,
    /// The answers gathered so far, sealed by the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) request_state: Option<String>,
}

/// Who sent a per-request request, from its `_meta`; its capabilities are parsed when
/// something first asks about them.
#[derive(Clone)]
pub(crate) struct RequestMeta {
    pub(crate) version: ProtocolVersion,
    pub(crate) capabilities: LazyObject,
    pub(crate) info: Option<Implementation>,
    pub(crate) log_level: Option<LogLevel>,
}

/// UnsupportedProtocolVersion (-32022), naming every revision the server speaks.
pub(crate) fn unsupported_version(requested: &str) -> ErrorObject {
    let supported: Vec<&str> = ProtocolVersion::ALL
        .iter()
        .rev()
        .map(|v| v.as_str())
        .collect();
    ErrorObject::new(
        code::UNSUPPORTED_VERSION,
        format!(
            "Unsupported protocol version `{requested}`; supported: {}",
            supported.join(", ")
        ),
    )
    .with_data(json!({"supported": supported, "requested": requested}))
}

/// How long clients may cache a result, and whether for everyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheHints {
    /// How long the result stays fresh.
    pub ttl: Duration,
    /// Whether the result is the same for every caller.
    pub scope: CacheScope,
}

/// Who may share a cached result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheScope {
    /// The result is the same for every caller: shared caches may keep it.
    Public,
    /// The result depends on the caller: only the caller's own cache may keep it.
    Private,
}

impl Default for CacheHints {
    fn default() -> CacheHints {
        CacheHints {
            ttl: Duration::ZERO,
            scope: CacheScope::Public,
        }
    }
}

/// A per-request result without what [`Wire`](super::stamp::Wire) added: a task keeps the
/// result of its call as the call made it, and `tasks/get` shows it inside its own.
pub(crate) fn unstamp(result: &mut Value) {
    let Value::Object(m) = result else { return };
    if m.get("resultType").and_then(Value::as_str) == Some("complete") {
        m.remove("resultType");
        m.remove("ttlMs");
        m.remove("cacheScope");
    }
    if let Some(Value::Object(meta)) = m.get_mut("_meta") {
        meta.remove(SERVER_INFO);
        if meta.is_empty() {
            m.remove("_meta");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_needs_the_version_and_capabilities_but_not_client_info() {
        let raw = |s: &str| RawValue::from_string(s.to_string()).unwrap();
        let empty = raw("{}");
        assert!(Envelope::parse(Some(&empty)).check(None).is_err());
        let no_capabilities =
            raw(r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}"#);
        let e = Envelope::parse(Some(&no_capabilities))
            .check(None)
            .err()
            .unwrap();
        assert_eq!(e.code, code::INVALID_PARAMS);
        assert!(e.message.contains("clientCapabilities"), "{}", e.message);
        let complete = raw(
            r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"debug"}}"#,
        );
        let m = Envelope::parse(Some(&complete)).check(None).ok().unwrap();
        assert_eq!(m.version.as_str(), "2026-07-28");
        assert!(m.info.is_none());
        assert_eq!(m.log_level, Some(LogLevel::Debug));
        let mismatch = Envelope::parse(Some(&complete))
            .check(Some("2025-11-25"))
            .err()
            .unwrap();
        assert_eq!(mismatch.code, code::HEADER_MISMATCH);
        let named = raw(r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"x"}}"#);
        assert!(Envelope::sniff(Some(&named)).is_some());
        for (text, holds) in [
            (PROTOCOL_VERSION, true),
            (
                r#"{"a/b":"x/io.modelcontextprotocol/protocolVersion/"}"#,
                true,
            ),
            ("io.modelcontextprotocol/protocolVersio", false),
            ("o.modelcontextprotocol/protocolVersion", false),
            ("io.modelcontextprotocol//protocolVersion", false),
            ("/io.modelcontextprotocol/", false),
            ("", false),
        ] {
            assert_eq!(names_revision(text), holds, "{text}");
        }
        let in_an_argument =
            raw(r#"{"arguments":{"text":"io.modelcontextprotocol/protocolVersion"}}"#);
        assert!(Envelope::sniff(Some(&in_an_argument)).is_none());
    }

    #[test]
    fn the_target_is_read_by_method() {
        let raw = RawValue::from_string(
            r#"{"name":"greet","uri":"file:///a","taskId":"t1","arguments":{"x":1}}"#.into(),
        )
        .unwrap();
        let e = Envelope::parse(Some(&raw));
        assert_eq!(e.target("tools/call").as_deref(), Some("greet"));
        assert_eq!(e.target("prompts/get").as_deref(), Some("greet"));
        assert_eq!(e.target("resources/read").as_deref(), Some("file:///a"));
        assert_eq!(e.target("tasks/get").as_deref(), Some("t1"));
        assert_eq!(e.target("tools/list"), None);
        assert_eq!(e.arguments.map(RawValue::get), Some(r#"{"x":1}"#));
    }

    #[test]
    fn a_call_is_read_from_the_envelope_only_when_it_says_all_a_parse_would() {
        let raw = |s: &str| RawValue::from_string(s.to_string()).unwrap();
        let call = |s: &str| {
            let params = raw(s);
            let e = Envelope::parse(Some(&params));
            e.call(&params).map(|(n, a)| (n.into_owned(), a))
        };
        let (name, arguments) = call(r#"{"name":"a\"b","arguments":{"x":[1]}}"#).unwrap();
        assert_eq!(name, "a\"b");
        assert_eq!(arguments.unwrap()["x"][0], 1);
        assert_eq!(
            call(r#"{"name":"t","arguments":null}"#),
            Some(("t".into(), None))
        );
        assert_eq!(call(r#"{"name":"t"}"#), Some(("t".into(), None)));
        for refused in [
            r#"{"name":5}"#,
            r#"{"arguments":{}}"#,
            r#"{"name":"t","arguments":[1]}"#,
            r#"{"name":"t","arguments":"{}"}"#,
            r#"["t"]"#,
        ] {
            assert_eq!(call(refused), None, "{refused}");
        }
        // `_meta` is read as an object only; `null` is absent.
        let array = raw(r#"{"_meta":["io.modelcontextprotocol/protocolVersion",{}]}"#);
        assert!(Envelope::sniff(Some(&array)).is_none());
        let null = raw(r#"{"_meta":null,"name":"t"}"#);
        let mut e = Envelope::parse(Some(&null));
        assert!(!e.has_meta());
        assert!(e.check(None).is_err());
        let object = raw(
            r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}"#,
        );
        let mut e = Envelope::sniff(Some(&object)).unwrap();
        assert!(e.has_meta());
        assert!(e.check(None).is_ok());
        assert!(e.has_meta(), "still known after the check took it");
    }

    #[test]
    fn unstamping_removes_only_what_the_stamp_added() {
        let mut v = json!({
            "content": [],
            "resultType": "complete",
            "_meta": {"io.modelcontextprotocol/serverInfo": {}, "k": 1},
        });
        unstamp(&mut v);
        assert_eq!(v, json!({"content": [], "_meta": {"k": 1}}));
        let mut bare =
            json!({"resultType": "complete", "_meta": {"io.modelcontextprotocol/serverInfo": {}}});
        unstamp(&mut bare);
        assert_eq!(bare, json!({}));
    }

    /// What the two-pass reading (the message, then the envelope of its params) makes of
    /// `text`, to compare the one-pass reading with.
    fn in_two_passes(text: &str) -> Option<(String, String, String, Vec<Option<String>>)> {
        let Ok(Incoming::Request { id, method, params }) = Incoming::parse(text) else {
            return None;
        };
        let mut envelope = Envelope::sniff(params)?;
        Some(described(&id, &method, params, &mut envelope))
    }

    fn described(
        id: &super::super::RequestId,
        method: &str,
        params: Option<&RawValue>,
        envelope: &mut Envelope<'_>,
    ) -> (String, String, String, Vec<Option<String>>) {
        let text = |r: Option<&RawValue>| r.map(|r| r.get().to_string());
        let fields = vec![
            text(envelope.name),
            text(envelope.uri),
            text(envelope.task_id),
            text(envelope.arguments),
            text(envelope.input_responses),
            text(envelope.request_state),
            envelope.meta.as_ref().and_then(|m| text(m.version)),
            envelope.meta.as_ref().and_then(|m| text(m.capabilities)),
            envelope.meta.as_ref().and_then(|m| text(m.info)),
            envelope.meta.as_ref().and_then(|m| text(m.log_level)),
            envelope.check(Some("2026-07-28")).err().map(|e| e.message),
        ];
        (
            format!("{id:?}"),
            method.to_string(),
            params.unwrap().get().to_string(),
            fields,
        )
    }

    #[test]
    fn one_pass_reads_what_two_passes_read() {
        let plain = [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"roots":{}},"io.modelcontextprotocol/clientInfo":{"name":"c","version":"1"}}}}"#,
            // `_meta` first, blanks everywhere, `null`s, unknown keys, params before the id.
            " { \"params\" : { \"_meta\" : { \"x\" : [1, {\"}\": 2}] , \"io.modelcontextprotocol/protocolVersion\" : \"2026-07-28\" ,\n \"io.modelcontextprotocol/logLevel\" : null } , \"uri\" : \"a://b\" , \"other\" : { } } , \"jsonrpc\" : \"2.0\" , \"method\" : \"resources/read\" , \"id\" : \"s\" } ",
            r#"{"jsonrpc":"2.0","id":2,"method":"tasks/get","params":{"taskId":"t","_meta":{"io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/protocolVersion":"2025-11-25"},"requestState":"s","inputResponses":{"k":{}}}}"#,
        ];
        for text in plain {
            assert!(names_revision(text));
            let (message, mut envelope) = sniff_message(text).expect("read in one pass");
            let Incoming::Request { id, method, params } = message else {
                panic!("a request");
            };
            assert_eq!(
                Some(described(&id, &method, params, &mut envelope)),
                in_two_passes(text),
                "{text}"
            );
        }
        // What the one pass leaves to the two: the outcome is theirs.
        let left = [
            // Escaped keys, a field twice, `_meta` empty, null or an array, params an array.
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n\u0061me":"add","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{},"x":"io.modelcontextprotocol/protocolVersion"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":null,"x":"io.modelcontextprotocol/protocolVersion"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}]}"#,
            // No revision named; a notification; not a message.
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/clientInfo":{}},"io.modelcontextprotocol/protocolVersion":1}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/x","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"x","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"x","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
        ];
        for text in left {
            assert!(sniff_message(text).is_none(), "{text}");
        }
    }
}
