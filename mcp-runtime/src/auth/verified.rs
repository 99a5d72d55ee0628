//! Credentials verified lately: a bounded map from a keyed 128-bit tag of the credential to
//! what verifying it found, so that the expensive check (a signature, a SHA-256 digest) runs
//! once per credential rather than once per request.
//!
//! The map holds tags, never credentials: a tag is two SipHash outputs of the credential
//! under a random key made when the process starts (std's `RandomState`, the hash its maps
//! use against collision attacks), with a different prefix each. Being taken for a cached
//! credential needs a second preimage of that tag under a key nobody outside the process
//! knows, and a tag is never shown to anyone. Looking up costs a pass of SipHash over the
//! credential, a lock and a map probe.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::Instant;

/// What verified credentials are remembered by.
pub(crate) type Tag = u128;

/// A bounded map of verified credentials to `V`, each until a deadline.
pub(crate) struct Verified<V> {
    key: RandomState,
    entries: Mutex<HashMap<Tag, (V, Option<Instant>)>>,
    max: usize,
}

impl<V: Clone> Verified<V> {
    /// At most `max` credentials; past it, expired ones go first, then all.
    pub(crate) fn new(max: usize) -> Self {
        Verified {
            key: RandomState::new(),
            entries: Mutex::new(HashMap::new()),
            max,
        }
    }

    /// The tag of `credential`.
    pub(crate) fn tag(&self, credential: &[u8]) -> Tag {
        let high = self.key.hash_one((1u8, credential));
        let low = self.key.hash_one((2u8, credential));
        (u128::from(high) << 64) | u128::from(low)
    }

    /// What verifying the credential of `tag` found, if it was verified and its time has not
    /// run out at `now` (`None`: no deadline is asked about).
    pub(crate) fn get(&self, tag: Tag, now: Option<Instant>) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (value, until) = entries.get(&tag)?;
        if let (Some(until), Some(now)) = (until, now)
            && now >= *until
        {
            return None;
        }
        Some(value.clone())
    }

    /// Remembers `value` for the credential of `tag`, until `until` if given.
    pub(crate) fn insert(&self, tag: Tag, value: V, until: Option<Instant>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.max && !entries.contains_key(&tag) {
            let now = Instant::now();
            entries.retain(|_, (_, t)| t.is_none_or(|t| t > now));
            if entries.len() >= self.max {
                entries.clear();
            }
        }
        entries.insert(tag, (value, until));
    }

    /// How many credentials are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn tags_tell_credentials_apart_and_entries_expire() {
        let v: Verified<u32> = Verified::new(2);
        let (a, b) = (v.tag(b"mcpk_a_secret"), v.tag(b"mcpk_a_secres"));
        assert_ne!(a, b);
        assert_eq!(a, v.tag(b"mcpk_a_secret"));
        // Another process (another key) tags the same credential differently.
        assert_ne!(a, Verified::<u32>::new(2).tag(b"mcpk_a_secret"));
        let now = Instant::now();
        v.insert(a, 1, Some(now + Duration::from_secs(60)));
        assert_eq!(v.get(a, Some(now)), Some(1));
        assert_eq!(v.get(b, Some(now)), None);
        assert_eq!(
            v.get(a, Some(now + Duration::from_secs(60))),
            None,
            "expired"
        );
        // Bounded: a third entry makes room.
        v.insert(b, 2, None);
        v.insert(v.tag(b"c"), 3, None);
        assert!(v.len() <= 2);
    }
}
