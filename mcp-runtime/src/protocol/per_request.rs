//! The per-request revision (2026-07-28) on the wire: what a request's `_meta` carries and
//! how it is checked, the methods the revision removed, and what every result carries.

use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::{ErrorObject, Implementation, JsonObject, LogLevel, ProtocolVersion, code};

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
pub(crate) const CACHEABLE: [&str; 6] = [
    "server/discover",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
];

/// Whether a request's params name a per-request revision: the cheap test first, then the
/// `_meta` key itself.
pub(crate) fn names_revision(params: Option<&RawValue>) -> bool {
    let Some(raw) = params else { return false };
    if !raw.get().contains(PROTOCOL_VERSION) {
        return false;
    }
    #[derive(Deserialize)]
    struct MetaOnly {
        #[serde(rename = "_meta")]
        meta: Option<Map<String, Value>>,
    }
    serde_json::from_str::<MetaOnly>(raw.get())
        .ok()
        .and_then(|m| m.meta)
        .is_some_and(|m| m.contains_key(PROTOCOL_VERSION))
}

/// Who sent a per-request request, from its `_meta`.
pub(crate) struct RequestMeta {
    pub(crate) version: String,
    pub(crate) capabilities: JsonObject,
    pub(crate) info: Option<Implementation>,
    pub(crate) log_level: Option<LogLevel>,
}

pub(crate) fn parse_meta(params: Option<&RawValue>) -> Result<RequestMeta, ErrorObject> {
    #[derive(Deserialize)]
    struct MetaOnly {
        #[serde(rename = "_meta")]
        meta: Option<Map<String, Value>>,
    }
    let meta = params
        .and_then(|p| serde_json::from_str::<MetaOnly>(p.get()).ok())
        .and_then(|m| m.meta)
        .ok_or_else(|| {
            ErrorObject::invalid_params(format!(
                "Invalid params: the request has no `_meta`; 2026-07-28 requests carry `{PROTOCOL_VERSION}` and `{CLIENT_CAPABILITIES}` in it"
            ))
        })?;
    let version = match meta.get(PROTOCOL_VERSION) {
        Some(Value::String(v)) => v.clone(),
        _ => {
            return Err(ErrorObject::invalid_params(format!(
                "Invalid params: `_meta` has no `{PROTOCOL_VERSION}` string"
            )));
        }
    };
    let capabilities = match meta.get(CLIENT_CAPABILITIES) {
        Some(Value::Object(c)) => c.clone(),
        _ => {
            return Err(ErrorObject::invalid_params(format!(
                "Invalid params: `_meta` has no `{CLIENT_CAPABILITIES}` object"
            )));
        }
    };
    let info = match meta.get(CLIENT_INFO) {
        None | Some(Value::Null) => None,
        Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| {
            ErrorObject::invalid_params(format!("Invalid params: `_meta.{CLIENT_INFO}`: {e}"))
        })?),
    };
    let log_level = match meta.get(LOG_LEVEL) {
        None | Some(Value::Null) => None,
        Some(v) => Some(serde_json::from_value(v.clone()).map_err(|e| {
            ErrorObject::invalid_params(format!("Invalid params: `_meta.{LOG_LEVEL}`: {e}"))
        })?),
    };
    Ok(RequestMeta {
        version,
        capabilities,
        info,
        log_level,
    })
}

/// The checks every per-request request passes first, in the order the revision gives:
/// `_meta` complete (-32602), `MCP-Protocol-Version` equal to it (-32020), the revision one
/// the server speaks (-32022).
pub(crate) fn check_request(
    params: Option<&RawValue>,
    header_version: Option<&str>,
) -> Result<RequestMeta, ErrorObject> {
    let meta = parse_meta(params)?;
    if let Some(h) = header_version
        && h != meta.version
    {
        return Err(ErrorObject::new(
            code::HEADER_MISMATCH,
            format!(
                "Header mismatch: MCP-Protocol-Version is `{h}` but `_meta.{PROTOCOL_VERSION}` is `{}`",
                meta.version
            ),
        ));
    }
    match ProtocolVersion::parse_any(&meta.version) {
        Some(v) if v.is_per_request() => Ok(meta),
        _ => Err(unsupported_version(&meta.version)),
    }
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

impl CacheScope {
    fn as_str(self) -> &'static str {
        match self {
            CacheScope::Public => "public",
            CacheScope::Private => "private",
        }
    }
}

impl Default for CacheHints {
    fn default() -> CacheHints {
        CacheHints {
            ttl: Duration::ZERO,
            scope: CacheScope::Public,
        }
    }
}

pub(crate) fn server_info_meta(info: &Implementation) -> Value {
    let mut meta = Map::new();
    meta.insert(
        SERVER_INFO.into(),
        serde_json::to_value(info).unwrap_or_default(),
    );
    Value::Object(meta)
}

/// What every per-request response carries: `resultType`, the server's identity, caching
/// hints for the methods that have them (`hints`); and this revision's error codes.
pub(crate) fn finish(bytes: Vec<u8>, info: &Implementation, hints: Option<CacheHints>) -> Vec<u8> {
    let Ok(mut message) = serde_json::from_slice::<Map<String, Value>>(&bytes) else {
        return bytes;
    };
    if let Some(Value::Object(error)) = message.get_mut("error") {
        if error.get("code").and_then(Value::as_i64) == Some(code::RESOURCE_NOT_FOUND) {
            error.insert("code".into(), code::INVALID_PARAMS.into());
        }
        return serde_json::to_vec(&message).unwrap_or(bytes);
    }
    let Some(Value::Object(result)) = message.get_mut("result") else {
        return bytes;
    };
    let complete = !result.contains_key("resultType");
    if complete {
        result.insert("resultType".into(), "complete".into());
    }
    match result.get_mut("_meta") {
        Some(Value::Object(meta)) => {
            meta.insert(
                SERVER_INFO.into(),
                serde_json::to_value(info).unwrap_or_default(),
            );
        }
        _ => {
            result.insert("_meta".into(), server_info_meta(info));
        }
    }
    if let Some(hints) = hints.filter(|_| complete) {
        let ttl = u64::try_from(hints.ttl.as_millis()).unwrap_or(u64::MAX);
        result.insert("ttlMs".into(), ttl.into());
        result.insert("cacheScope".into(), hints.scope.as_str().into());
    }
    serde_json::to_vec(&message).unwrap_or(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_needs_the_version_and_capabilities_but_not_client_info() {
        let raw = |s: &str| RawValue::from_string(s.to_string()).unwrap();
        assert!(parse_meta(Some(&raw("{}"))).is_err());
        let e = parse_meta(Some(&raw(
            r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}"#,
        )))
        .err()
        .unwrap();
        assert_eq!(e.code, code::INVALID_PARAMS);
        assert!(e.message.contains("clientCapabilities"), "{}", e.message);
        let m = parse_meta(Some(&raw(
            r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/logLevel":"debug"}}"#,
        )))
        .ok()
        .unwrap();
        assert_eq!(m.version, "2026-07-28");
        assert!(m.info.is_none());
        assert_eq!(m.log_level, Some(LogLevel::Debug));
        assert!(names_revision(Some(&raw(
            r#"{"_meta":{"io.modelcontextprotocol/protocolVersion":"x"}}"#
        ))));
        assert!(!names_revision(Some(&raw(
            r#"{"arguments":{"text":"io.modelcontextprotocol/protocolVersion"}}"#
        ))));
    }
}
