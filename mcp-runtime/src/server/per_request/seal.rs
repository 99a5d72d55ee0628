//! Sealing the `requestState` of multi round-trip requests: the answers gathered so far,
//! authenticated with the server's key, bound to the request and its age.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::protocol::{JsonObject, base64};

/// The longest `requestState` accepted.
const MAX_STATE: usize = 64 * 1024;

type HmacSha256 = Hmac<Sha256>;

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Seals the answers a request has gathered so far, bound to the method and its target.
pub(crate) fn seal(key: &[u8], method: &str, target: &str, answers: &JsonObject) -> String {
    let payload = json!({"m": method, "n": target, "t": now_secs(), "a": answers}).to_string();
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(payload.as_bytes());
    let tag = mac.finalize().into_bytes();
    format!(
        "{}.{}",
        base64::encode(payload.as_bytes()),
        base64::encode(&tag)
    )
}

/// Opens a `requestState`: the answers it carries, if it is ours, unaltered, fresh, and for
/// this method and target.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_state_opens_only_unaltered_fresh_and_for_its_request() {
        let key = [7u8; 32];
        let mut answers = JsonObject::new();
        answers.insert("user_name".into(), json!({"action": "accept"}));
        let state = seal(&key, "tools/call", "greet", &answers);
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
