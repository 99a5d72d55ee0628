//! Sealing the `requestState` of multi round-trip requests: the answers gathered so far,
//! authenticated with the server's key, bound to the request and its age.

//!
//! Sealing needs the `per-request-crypto` feature (HMAC-SHA256). Without it, a request that
//! needs another round fails with [`UNSEALED`], and so does a `requestState` sent back: an
//! unsealed state would let a client forge the answers a handler sees.

use std::time::Duration;
#[cfg(feature = "per-request-crypto")]
use std::time::{SystemTime, UNIX_EPOCH};

#[cfg(feature = "per-request-crypto")]
use hmac::{Hmac, Mac};
#[cfg(feature = "per-request-crypto")]
use serde_json::{Value, json};
#[cfg(feature = "per-request-crypto")]
use sha2::Sha256;

use crate::protocol::JsonObject;
#[cfg(feature = "per-request-crypto")]
use crate::protocol::base64;

/// Why a multi round-trip request fails when sealing is compiled out.
#[cfg_attr(feature = "per-request-crypto", allow(dead_code))]
pub(crate) const UNSEALED: &str = "this request needs another round (`input_required`), whose \
    `requestState` is sealed with HMAC-SHA256, and this server was built without the \
    `per-request-crypto` feature of mcp-runtime: enable it in the server's Cargo.toml";

/// The longest `requestState` accepted.
#[cfg(feature = "per-request-crypto")]
const MAX_STATE: usize = 64 * 1024;

#[cfg(feature = "per-request-crypto")]
type HmacSha256 = Hmac<Sha256>;

#[cfg(feature = "per-request-crypto")]
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Seals the answers a request has gathered so far, bound to the method and its target.
#[cfg(feature = "per-request-crypto")]
pub(crate) fn seal(
    key: &[u8],
    method: &str,
    target: &str,
    answers: &JsonObject,
) -> Result<String, &'static str> {
    let payload = json!({"m": method, "n": target, "t": now_secs(), "a": answers}).to_string();
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(payload.as_bytes());
    let tag = mac.finalize().into_bytes();
    Ok(format!(
        "{}.{}",
        base64::encode(payload.as_bytes()),
        base64::encode(&tag)
    ))
}

/// Sealing is compiled out: the round cannot be continued.
#[cfg(not(feature = "per-request-crypto"))]
pub(crate) fn seal(
    _key: &[u8],
    _method: &str,
    _target: &str,
    _answers: &JsonObject,
) -> Result<String, &'static str> {
    Err(UNSEALED)
}

/// Sealing is compiled out: no state can be trusted.
#[cfg(not(feature = "per-request-crypto"))]
pub(crate) fn open(
    _key: &[u8],
    _max_age: Duration,
    _state: &str,
    _method: &str,
    _target: &str,
) -> Result<JsonObject, String> {
    Err(UNSEALED.to_string())
}

/// Opens a `requestState`: the answers it carries, if it is ours, unaltered, fresh, and for
/// this method and target.
#[cfg(feature = "per-request-crypto")]
pub(crate) fn open(
    key: &[u8],
    max_age: Duration,
    state: &str,
    method: &str,
    target: &str,
) -> Result<JsonObject, String> {
    let invalid = || "requestState integrity check failed".to_string();
    if state.len() > MAX_STATE {
        return Err(format!("requestState is longer than {MAX_STATE} bytes"));
    }
    let (payload, tag) = state.split_once('.').ok_or_else(invalid)?;
    let payload = base64::decode(payload).map_err(|_| invalid())?;
    let tag = base64::decode(tag).map_err(|_| invalid())?;
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&payload);
    mac.verify_slice(&tag).map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&payload).map_err(|_| invalid())?;
    if value["m"] != method || value["n"] != target {
        return Err(format!(
            "requestState belongs to another request, not `{method}` of `{target}`"
        ));
    }
    let issued = value["t"].as_u64().ok_or_else(invalid)?;
    if now_secs().saturating_sub(issued) > max_age.as_secs() {
        return Err("requestState has expired; call again without it".into());
    }
    match value.get("a") {
        Some(Value::Object(a)) => Ok(a.clone()),
        _ => Err(invalid()),
    }
}

#[cfg(all(test, feature = "per-request-crypto"))]
mod tests {
    use super::*;

    #[test]
    fn sealed_state_opens_only_unaltered_fresh_and_for_its_request() {
        let key = [7u8; 32];
        let mut answers = JsonObject::new();
        answers.insert("user_name".into(), json!({"action": "accept"}));
        let state = seal(&key, "tools/call", "greet", &answers).unwrap();
        let hour = Duration::from_secs(3600);
        assert_eq!(open(&key, hour, &state, "tools/call", "greet"), Ok(answers));
        let tampered = format!("{state}-TAMPERED");
        assert_eq!(
            open(&key, hour, &tampered, "tools/call", "greet"),
            Err("requestState integrity check failed".into())
        );
        assert!(open(&[8u8; 32], hour, &state, "tools/call", "greet").is_err());
        assert!(
            open(&key, hour, &state, "tools/call", "other")
                .unwrap_err()
                .contains("another request")
        );
        assert!(open(&key, hour, "garbage", "tools/call", "greet").is_err());
        let huge = "a".repeat(MAX_STATE + 1);
        assert!(
            open(&key, hour, &huge, "tools/call", "greet")
                .unwrap_err()
                .contains("longer")
        );
    }
}

#[cfg(all(test, not(feature = "per-request-crypto")))]
mod unsealed_tests {
    use super::*;

    #[test]
    fn without_the_crypto_a_round_fails_naming_the_feature() {
        let answers = JsonObject::new();
        let e = seal(&[7u8; 32], "tools/call", "greet", &answers).unwrap_err();
        assert!(e.contains("`per-request-crypto` feature"), "{e}");
        let hour = Duration::from_secs(3600);
        let e = open(&[7u8; 32], hour, "a.b", "tools/call", "greet").unwrap_err();
        assert!(e.contains("`per-request-crypto` feature"), "{e}");
    }
}
