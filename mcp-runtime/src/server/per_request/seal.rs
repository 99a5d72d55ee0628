//! Sealing the `requestState` of multi round-trip requests: the answers gathered so far,
//! encrypted and authenticated with the server's key (ChaCha20-Poly1305), bound to the
//! request (method, target, a SHA-256 digest of its arguments) and to its age.
//!
//! Encrypted, the user's answers inside cannot be read by whoever holds the state; bound to
//! the arguments, a state cannot be replayed into a call with other arguments. Every
//! instance behind a load balancer must share the key
//! ([`Server::request_state_key`](crate::Server::request_state_key)), or a round sealed by
//! one is refused by the next.
//!
//! Sealing needs the `per-request-crypto` feature. Without it, a request that needs another
//! round fails with [`UNSEALED`], and so does a `requestState` sent back: an unsealed state
//! would let a client forge the answers a handler sees.

use std::time::Duration;
#[cfg(feature = "per-request-crypto")]
use std::time::{SystemTime, UNIX_EPOCH};

#[cfg(feature = "per-request-crypto")]
use chacha20poly1305::aead::{Aead, KeyInit as _, Payload};
#[cfg(feature = "per-request-crypto")]
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
#[cfg(feature = "per-request-crypto")]
use hmac::{Hmac, Mac};
#[cfg(feature = "per-request-crypto")]
use serde_json::Value;
#[cfg(feature = "per-request-crypto")]
use sha2::{Digest, Sha256};

use serde_json::value::RawValue;

use crate::protocol::JsonObject;
#[cfg(feature = "per-request-crypto")]
use crate::protocol::base64;

/// Why a multi round-trip request fails when sealing is compiled out.
#[cfg_attr(feature = "per-request-crypto", allow(dead_code))]
pub(crate) const UNSEALED: &str = "this request needs another round (`input_required`), whose \
    `requestState` is sealed with ChaCha20-Poly1305, and this server was built without the \
    `per-request-crypto` feature of mcp-runtime: enable it in the server's Cargo.toml";

/// The longest `requestState` accepted.
#[cfg_attr(not(feature = "per-request-crypto"), allow(dead_code))]
pub(crate) const MAX_STATE: usize = 64 * 1024;

/// The most answer bytes sealed into one state (what is sealed stays under [`MAX_STATE`]).
#[cfg_attr(not(feature = "per-request-crypto"), allow(dead_code))]
pub(crate) const MAX_SEALED: usize = 44 * 1024;

/// Why a round cannot be sealed: its answers are too large.
#[cfg_attr(not(feature = "per-request-crypto"), allow(dead_code))]
pub(crate) const TOO_LARGE: &str = "the answers gathered over this request's rounds are larger \
    than the 44 KiB a requestState may carry; ask for less in each round";

/// The prefix of this format of sealed state.
#[cfg(feature = "per-request-crypto")]
const VERSION: &str = "v2.";

#[cfg(feature = "per-request-crypto")]
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A digest of a request's arguments (its JSON with keys in order), to bind a state to them.
#[cfg(feature = "per-request-crypto")]
pub(crate) fn arguments_digest(arguments: Option<&RawValue>, caller: &crate::Principal) -> Vec<u8> {
    let mut value = arguments
        .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
        .unwrap_or(Value::Null);
    sort_keys(&mut value);
    let mut hash = Sha256::new();
    hash.update(value.to_string().as_bytes());
    // The caller's identity (not its scopes, which a reloaded key file or a refreshed token may
    // change): a state sealed for one principal does not open for another.
    for part in [
        caller.kind().as_str(),
        caller.issuer().unwrap_or(""),
        caller.subject(),
        caller.key_id().unwrap_or(""),
    ] {
        hash.update([0u8]);
        hash.update(part.as_bytes());
    }
    hash.finalize().to_vec()
}

/// Puts every object's keys in one order, so that the same arguments written in another key
/// order digest the same (objects keep insertion order under the `preserve-order` feature).
#[cfg(feature = "per-request-crypto")]
fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
            for (k, mut v) in entries {
                sort_keys(&mut v);
                map.insert(k, v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

/// Without the crypto nothing is sealed, so nothing is bound.
#[cfg(not(feature = "per-request-crypto"))]
pub(crate) fn arguments_digest(
    _arguments: Option<&RawValue>,
    _caller: &crate::Principal,
) -> Vec<u8> {
    Vec::new()
}

/// The AEAD key, derived from the server's key of any length.
#[cfg(feature = "per-request-crypto")]
fn cipher(key: &[u8]) -> ChaCha20Poly1305 {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"mcp-runtime requestState v2");
    ChaCha20Poly1305::new(&mac.finalize().into_bytes())
}

/// What the ciphertext is bound to: the method, its target and its arguments' digest.
#[cfg(feature = "per-request-crypto")]
fn associated(method: &str, target: &str, digest: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(method.len() + target.len() + digest.len() + 2);
    aad.extend_from_slice(method.as_bytes());
    aad.push(0);
    aad.extend_from_slice(target.as_bytes());
    aad.push(0);
    aad.extend_from_slice(digest);
    aad
}

/// Seals the answers a request has gathered so far, bound to the method, its target and the
/// digest of its arguments.
#[cfg(feature = "per-request-crypto")]
pub(crate) fn seal(
    key: &[u8],
    method: &str,
    target: &str,
    digest: &[u8],
    answers: &JsonObject,
) -> Result<String, &'static str> {
    let answers = serde_json::to_string(answers).map_err(|_| "the answers do not serialize")?;
    if answers.len() > MAX_SEALED {
        return Err(TOO_LARGE);
    }
    let plain = format!("{{\"t\":{},\"a\":{answers}}}", now_secs());
    let mut nonce = [0u8; 12];
    getrandom::fill(&mut nonce).map_err(|_| "the operating system's random source failed")?;
    let aad = associated(method, target, digest);
    let sealed = cipher(key)
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plain.as_bytes(),
                aad: &aad,
            },
        )
        .map_err(|_| "sealing the requestState failed")?;
    let mut bytes = Vec::with_capacity(nonce.len() + sealed.len());
    bytes.extend_from_slice(&nonce);
    bytes.extend_from_slice(&sealed);
    Ok(format!("{VERSION}{}", base64::encode(&bytes)))
}

/// Sealing is compiled out: the round cannot be continued.
#[cfg(not(feature = "per-request-crypto"))]
pub(crate) fn seal(
    _key: &[u8],
    _method: &str,
    _target: &str,
    _digest: &[u8],
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
    _digest: &[u8],
) -> Result<JsonObject, String> {
    Err(UNSEALED.to_string())
}

/// Opens a `requestState`: the answers it carries, if it is ours, unaltered, fresh, and for
/// this method, target and arguments. Its base64 must be exactly as sealed (padded, no
/// stray bits), so that one state has one text.
#[cfg(feature = "per-request-crypto")]
pub(crate) fn open(
    key: &[u8],
    max_age: Duration,
    state: &str,
    method: &str,
    target: &str,
    digest: &[u8],
) -> Result<JsonObject, String> {
    let invalid = || {
        "requestState integrity check failed: it was altered, sealed with another key, or \
         belongs to another request or other arguments"
            .to_string()
    };
    if state.len() > MAX_STATE {
        return Err(format!("requestState is longer than {MAX_STATE} bytes"));
    }
    let body = state.strip_prefix(VERSION).ok_or_else(invalid)?;
    let bytes = base64::decode_strict(body).map_err(|e| format!("requestState: {e}"))?;
    if bytes.len() < 12 + 16 {
        return Err(invalid());
    }
    let (nonce, sealed) = bytes.split_at(12);
    let aad = associated(method, target, digest);
    let plain = cipher(key)
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&plain).map_err(|_| invalid())?;
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
    use serde_json::json;

    #[test]
    fn sealed_state_opens_only_unaltered_fresh_and_for_its_request() {
        let key = [7u8; 32];
        let mut answers = JsonObject::new();
        answers.insert("user_name".into(), json!({"action": "accept"}));
        let args = serde_json::value::to_raw_value(&json!({"b": 2, "a": 1})).unwrap();
        let alice = crate::Principal::new("alice", ["notes:read"]);
        let d = arguments_digest(Some(&args), &alice);
        let state = seal(&key, "tools/call", "greet", &d, &answers).unwrap();
        let hour = Duration::from_secs(3600);
        assert_eq!(
            open(&key, hour, &state, "tools/call", "greet", &d),
            Ok(answers)
        );
        // The same arguments in another key order are the same arguments.
        let reordered =
            serde_json::value::RawValue::from_string(r#"{"a":1,"b":2}"#.into()).unwrap();
        assert_eq!(arguments_digest(Some(&reordered), &alice), d);
        // Another caller with the same arguments: another digest, so the state does not open.
        let bob = crate::Principal::new("bob", ["notes:read"]);
        let bobs = arguments_digest(Some(&args), &bob);
        assert_ne!(bobs, d);
        assert!(
            open(&key, hour, &state, "tools/call", "greet", &bobs).is_err(),
            "bound to the caller"
        );
        // The same caller with other scopes is the same caller.
        let alice_more = crate::Principal::new("alice", ["notes:read", "notes:write"]);
        assert_eq!(arguments_digest(Some(&args), &alice_more), d);
        let mut bytes = base64::decode_strict(&state[3..]).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("v2.{}", base64::encode(&bytes));
        assert!(
            open(&key, hour, &tampered, "tools/call", "greet", &d)
                .unwrap_err()
                .contains("integrity check failed")
        );
        assert!(open(&[8u8; 32], hour, &state, "tools/call", "greet", &d).is_err());
        assert!(open(&key, hour, &state, "tools/call", "other", &d).is_err());
        let other_args = arguments_digest(None, &alice);
        assert!(
            open(&key, hour, &state, "tools/call", "greet", &other_args).is_err(),
            "bound to the arguments"
        );
        assert!(open(&key, hour, "garbage", "tools/call", "greet", &d).is_err());
        let huge = "a".repeat(MAX_STATE + 1);
        assert!(
            open(&key, hour, &huge, "tools/call", "greet", &d)
                .unwrap_err()
                .contains("longer")
        );
    }

    #[test]
    fn the_answers_are_unreadable_and_the_base64_strict() {
        let key = [7u8; 32];
        let mut answers = JsonObject::new();
        answers.insert(
            "pin".into(),
            json!({"action": "accept", "content": {"pin": "4711-secret"}}),
        );
        let d = arguments_digest(None, &crate::Principal::local());
        let state = seal(&key, "tools/call", "t", &d, &answers).unwrap();
        let bytes = base64::decode_strict(&state[3..]).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("4711"),
            "encrypted"
        );
        // Unpadded: one state has one accepted text.
        let unpadded = state.trim_end_matches('=');
        if unpadded != state {
            assert!(
                open(
                    &key,
                    Duration::from_secs(60),
                    unpadded,
                    "tools/call",
                    "t",
                    &d
                )
                .is_err()
            );
        }
        // What is sealed is capped.
        let mut big = JsonObject::new();
        big.insert("k".into(), json!("x".repeat(MAX_SEALED)));
        assert_eq!(seal(&key, "tools/call", "t", &d, &big), Err(TOO_LARGE));
    }
}

#[cfg(all(test, not(feature = "per-request-crypto")))]
mod unsealed_tests {
    use super::*;

    #[test]
    fn without_the_crypto_a_round_fails_naming_the_feature() {
        let answers = JsonObject::new();
        let e = seal(&[7u8; 32], "tools/call", "greet", &[], &answers).unwrap_err();
        assert!(e.contains("`per-request-crypto` feature"), "{e}");
        let hour = Duration::from_secs(3600);
        let e = open(&[7u8; 32], hour, "a.b", "tools/call", "greet", &[]).unwrap_err();
        assert!(e.contains("`per-request-crypto` feature"), "{e}");
    }
}
