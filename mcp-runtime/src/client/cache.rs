//! Results kept as the server's caching hints allow (2026-07-28): a list or a read whose
//! result carries `ttlMs` is answered from here until that many milliseconds have passed,
//! or until the server says the list changed (`notifications/*/list_changed`) or the
//! resource was updated (`notifications/resources/updated`). The client's cache is its
//! caller's own, so both `cacheScope`s may be kept in it. At most [`MAX_ENTRIES`] results.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The most results kept.
pub(crate) const MAX_ENTRIES: usize = 256;

/// The requests whose results may be kept.
pub(crate) fn cacheable(method: &str) -> bool {
    matches!(
        method,
        "tools/list"
            | "prompts/list"
            | "resources/list"
            | "resources/templates/list"
            | "resources/read"
    )
}

struct Entry {
    method: &'static str,
    uri: Option<String>,
    until: Instant,
    result: Value,
}

/// The kept results, by request.
#[derive(Default)]
pub(crate) struct Cache(Mutex<HashMap<String, Entry>>);

/// The key of a request: its method and params (without `_meta`).
pub(crate) fn key(method: &str, params: &Value) -> String {
    let mut p = params.clone();
    if let Some(o) = p.as_object_mut() {
        o.remove("_meta");
    }
    format!("{method} {p}")
}

impl Cache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The kept result of `key`, while fresh.
    pub(crate) fn get(&self, key: &str) -> Option<Value> {
        let mut entries = self.lock();
        match entries.get(key) {
            Some(e) if e.until > Instant::now() => Some(e.result.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keeps `result` of `key` for its `ttlMs`, when it has one above zero.
    pub(crate) fn put(&self, key: String, method: &str, params: &Value, result: &Value) {
        let Some(ttl) = result
            .get("ttlMs")
            .and_then(Value::as_u64)
            .filter(|t| *t > 0)
        else {
            return;
        };
        let Some(method) = [
            "tools/list",
            "prompts/list",
            "resources/list",
            "resources/templates/list",
            "resources/read",
        ]
        .into_iter()
        .find(|m| *m == method) else {
            return;
        };
        let now = Instant::now();
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, e| e.until > now);
            if entries.len() >= MAX_ENTRIES
                && let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, e)| e.until)
                    .map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(
            key,
            Entry {
                method,
                uri: params
                    .get("uri")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                until: now + Duration::from_millis(ttl),
                result: result.clone(),
            },
        );
    }

    /// Forgets what a notification from the server makes stale.
    pub(crate) fn notified(&self, method: &str, params: &Value) {
        let stale: &[&str] = match method {
            "notifications/tools/list_changed" => &["tools/list"],
            "notifications/prompts/list_changed" => &["prompts/list"],
            "notifications/resources/list_changed" => {
                &["resources/list", "resources/templates/list"]
            }
            "notifications/resources/updated" => {
                let uri = params.get("uri").and_then(Value::as_str);
                self.lock()
                    .retain(|_, e| !(e.method == "resources/read" && e.uri.as_deref() == uri));
                return;
            }
            _ => return,
        };
        self.lock().retain(|_, e| !stale.contains(&e.method));
    }

    /// Forgets everything.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn results_are_kept_for_their_ttl_and_dropped_when_the_server_says_so() {
        let cache = Cache::default();
        let list = json!({});
        let k = key("tools/list", &json!({"_meta": {"x": 1}}));
        assert_eq!(k, key("tools/list", &list));
        cache.put(
            k.clone(),
            "tools/list",
            &list,
            &json!({"tools": [], "ttlMs": 0}),
        );
        assert!(cache.get(&k).is_none(), "ttlMs 0 is not kept");
        cache.put(
            k.clone(),
            "tools/list",
            &list,
            &json!({"tools": [], "ttlMs": 60000}),
        );
        assert_eq!(cache.get(&k).unwrap()["tools"], json!([]));
        let read = json!({"uri": "a://b"});
        let r = key("resources/read", &read);
        cache.put(
            r.clone(),
            "resources/read",
            &read,
            &json!({"contents": [], "ttlMs": 60000}),
        );
        cache.notified("notifications/prompts/list_changed", &json!({}));
        assert!(cache.get(&k).is_some());
        cache.notified("notifications/tools/list_changed", &json!({}));
        assert!(cache.get(&k).is_none());
        cache.notified(
            "notifications/resources/updated",
            &json!({"uri": "a://other"}),
        );
        assert!(cache.get(&r).is_some());
        cache.notified("notifications/resources/updated", &json!({"uri": "a://b"}));
        assert!(cache.get(&r).is_none());
        for i in 0..MAX_ENTRIES + 10 {
            let p = json!({"uri": format!("a://{i}")});
            cache.put(
                key("resources/read", &p),
                "resources/read",
                &p,
                &json!({"ttlMs": 60000}),
            );
        }
        assert!(cache.lock().len() <= MAX_ENTRIES);
    }
}
