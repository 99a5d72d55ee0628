//! API keys: the key file, its reloading, and checking a key a request presents.
//!
//! A key is `mcpk_<id>_<secret>`: a 16-hex-digit id, then 32 random bytes in base64url. The
//! file keeps each key's SHA-256 digest, never the key: a random 256-bit secret needs no
//! password hashing (nothing to brute-force), and a digest read from the file cannot be
//! presented as a key. A presented key is found by its id and its digest compared in
//! constant time.
//!
//! The file holds one JSON object per line (blank lines and lines starting with `#` are
//! skipped):
//!
//! ```text
//! {"id":"5f0c7a1e9b2d4c36","name":"ci","sha256":"<64 hex digits>","scopes":["notes:read"],"expires":"2027-01-01T00:00:00Z"}
//! ```
//!
//! `scopes` and `expires` (RFC 3339, or seconds since 1970) are optional. `mcp-cli keys
//! create` makes a key and prints its line.
//!
//! A key found good is remembered (by a keyed tag, see `auth::verified`, never the key) with
//! the keys it was checked against, so that its digest is computed once; reading the file
//! again starts with nothing remembered, so that a key removed from the file is refused at
//! once. Expiry is checked on every request.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::principal::{Principal, PrincipalBuilder, PrincipalKind};

/// What every key starts with, so that a key is recognisable (and secret scanners find it).
pub const KEY_PREFIX: &str = "mcpk_";

/// How often the key file's modification time is checked.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The largest key file read (a line per key: about 200 bytes each).
const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// A key just made by [`generate`]: the secret, shown once, and the line for the key file.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// The key's id (also inside the secret).
    pub id: String,
    /// The key itself, to give to the client; it is stored nowhere.
    pub secret: String,
    /// The key file's line for this key (its digest, not the key).
    pub line: String,
}

/// Makes a new API key named `name` with `scopes`, valid until `expires` (seconds since
/// 1970) if given.
pub fn generate(
    name: &str,
    scopes: &[String],
    expires: Option<u64>,
) -> Result<NewApiKey, getrandom::Error> {
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    getrandom::fill(&mut id)?;
    getrandom::fill(&mut secret)?;
    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let key = format!(
        "{KEY_PREFIX}{id}_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    let mut line = serde_json::Map::new();
    line.insert("id".into(), id.clone().into());
    line.insert("name".into(), name.into());
    line.insert("sha256".into(), hex(&Sha256::digest(key.as_bytes())).into());
    if !scopes.is_empty() {
        line.insert("scopes".into(), scopes.into());
    }
    if let Some(at) = expires {
        line.insert("expires".into(), format_rfc3339(at).into());
    }
    Ok(NewApiKey {
        id,
        secret: key,
        line: serde_json::Value::Object(line).to_string(),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.as_bytes().chunks(2).enumerate() {
        let text = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

/// One key of the file.
#[derive(Debug)]
struct Key {
    digest: [u8; 32],
    expires: Option<u64>,
    principal: Principal,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    id: String,
    name: Option<String>,
    sha256: String,
    #[serde(default)]
    scopes: Vec<String>,
    expires: Option<Expiry>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Expiry {
    Seconds(u64),
    Text(String),
}

/// Reads a key file's text; errors name the line and what is wrong with it.
fn parse(text: &str) -> Result<HashMap<String, Key>, String> {
    let mut keys = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let entry: Line = serde_json::from_str(line).map_err(|e| format!("line {n}: {e}"))?;
        if entry.id.is_empty() || !entry.id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!(
                "line {n}: the `id` must be letters and digits, as `mcp-cli keys create` makes it"
            ));
        }
        let digest = unhex(&entry.sha256.to_ascii_lowercase()).ok_or_else(|| {
            format!("line {n}: `sha256` must be the key's SHA-256 digest in 64 hex digits")
        })?;
        let expires = match entry.expires {
            None => None,
            Some(Expiry::Seconds(s)) => Some(s),
            Some(Expiry::Text(t)) => Some(parse_rfc3339(&t).ok_or_else(|| {
                format!(
                    "line {n}: `expires` {t:?} is not an RFC 3339 time such as 2027-01-31T00:00:00Z"
                )
            })?),
        };
        if let Some(bad) = entry.scopes.iter().find(|s| !valid_scope(s)) {
            return Err(format!(
                "line {n}: scope {bad:?} is empty or has spaces, quotes or backslashes"
            ));
        }
        let principal = PrincipalBuilder::new(PrincipalKind::ApiKey, entry.id.clone())
            .key(entry.id.clone(), entry.name)
            .scopes(entry.scopes)
            .build();
        let key = Key {
            digest,
            expires,
            principal,
        };
        if keys.insert(entry.id.clone(), key).is_some() {
            return Err(format!("line {n}: a second key with the id `{}`", entry.id));
        }
    }
    Ok(keys)
}

/// A scope as RFC 6749 allows it (`%x21 / %x23-5B / %x5D-7E`).
pub(crate) fn valid_scope(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// Why a presented key was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum KeyRefusal {
    /// Not of the form `mcpk_<id>_<secret>`.
    Malformed,
    /// No key with that id (never issued, or revoked by removing its line), or a wrong
    /// secret.
    Unknown,
    /// The key expired (its id).
    Expired(String),
}

/// The most keys remembered as checked (see [`Loaded::checked`]).
const CHECKED_ENTRIES: usize = 10_000;

/// The keys read from the file, and the presented keys found good among them.
struct Loaded {
    keys: HashMap<String, Arc<Key>>,
    /// Presented keys that matched one of `keys`.
    checked: super::verified::Verified<Arc<Key>>,
}

impl Loaded {
    fn new(keys: HashMap<String, Key>) -> Loaded {
        Loaded {
            keys: keys.into_iter().map(|(id, k)| (id, Arc::new(k))).collect(),
            checked: super::verified::Verified::new(CHECKED_ENTRIES),
        }
    }
}

/// The keys of a file, reloaded when the file changes.
pub(crate) struct KeyStore {
    path: PathBuf,
    keys: RwLock<Arc<Loaded>>,
    /// The file's modification time and length when it was last read.
    stamp: std::sync::Mutex<Option<(SystemTime, u64)>>,
    /// Counts the reloads that took effect, for whoever follows the keys' scopes.
    reloads: tokio::sync::watch::Sender<u64>,
}

fn read_file(path: &Path) -> Result<(String, Option<(SystemTime, u64)>), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > MAX_FILE_SIZE {
        return Err(format!(
            "{}: the key file is larger than {MAX_FILE_SIZE} bytes",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((text, meta.modified().ok().map(|m| (m, meta.len()))))
}

impl KeyStore {
    /// Reads the key file; a missing or malformed file is an error naming the line.
    pub(crate) fn open(path: &Path) -> Result<KeyStore, String> {
        let (text, stamp) = read_file(path)?;
        let keys = parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(KeyStore {
            path: path.to_path_buf(),
            keys: RwLock::new(Arc::new(Loaded::new(keys))),
            stamp: std::sync::Mutex::new(stamp),
            reloads: tokio::sync::watch::Sender::new(0),
        })
    }

    /// Changes with every reload that took effect.
    pub(crate) fn reloads(&self) -> tokio::sync::watch::Receiver<u64> {
        self.reloads.subscribe()
    }

    /// The principal of the live (unexpired) key `id` as the file now says.
    pub(crate) fn principal_of(&self, id: &str, now: u64) -> Option<Principal> {
        let keys = Arc::clone(&self.keys.read().unwrap_or_else(|e| e.into_inner()));
        let key = keys.keys.get(id)?;
        key.expires
            .is_none_or(|at| at > now)
            .then(|| key.principal.clone())
    }

    /// How many keys are loaded.
    pub(crate) fn len(&self) -> usize {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys
            .len()
    }

    /// Reads the file again if it changed since it was read (or always, with `force`). A
    /// file that cannot be read or parsed leaves the keys as they were, and the error is
    /// logged: a bad edit locks nobody out.
    pub(crate) fn reload(&self, force: bool) {
        let current = std::fs::metadata(&self.path)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())));
        {
            let stamp = self.stamp.lock().unwrap_or_else(|e| e.into_inner());
            if !force && current.is_some() && *stamp == current {
                return;
            }
        }
        match read_file(&self.path).and_then(|(text, stamp)| Ok((parse(&text)?, stamp))) {
            Ok((keys, stamp)) => {
                let n = keys.len();
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(Loaded::new(keys));
                *self.stamp.lock().unwrap_or_else(|e| e.into_inner()) = stamp;
                tracing::info!(path = %self.path.display(), keys = n, "API keys reloaded");
                self.reloads.send_modify(|n| *n += 1);
            }
            Err(e) => {
                // Not again until the file changes once more.
                *self.stamp.lock().unwrap_or_else(|e| e.into_inner()) = current;
                tracing::error!(
                    error = %e,
                    "the API key file could not be reloaded; the keys read before stay in use"
                );
            }
        }
    }

    /// The principal of `presented`, if it is a live key of the file.
    pub(crate) fn check(&self, presented: &str, now: u64) -> Result<Principal, KeyRefusal> {
        let rest = presented
            .strip_prefix(KEY_PREFIX)
            .ok_or(KeyRefusal::Malformed)?;
        let (id, _) = rest.split_once('_').ok_or(KeyRefusal::Malformed)?;
        let loaded = Arc::clone(&self.keys.read().unwrap_or_else(|e| e.into_inner()));
        let tag = loaded.checked.tag(presented.as_bytes());
        let key = match loaded.checked.get(tag, None) {
            Some(key) => key,
            None => {
                // An unknown id costs a digest too, so that timing does not tell ids apart.
                let digest = Sha256::digest(presented.as_bytes());
                let Some(key) = loaded.keys.get(id) else {
                    return Err(KeyRefusal::Unknown);
                };
                if !bool::from(key.digest.ct_eq(digest.as_slice())) {
                    return Err(KeyRefusal::Unknown);
                }
                loaded.checked.insert(tag, Arc::clone(key), None);
                Arc::clone(key)
            }
        };
        if key.expires.is_some_and(|at| at <= now) {
            return Err(KeyRefusal::Expired(id.to_string()));
        }
        Ok(key.principal.clone())
    }
}

/// Keeps `store` up to date: reads the file again when its modification time changes
/// (checked every [`POLL_INTERVAL`]) and on SIGHUP. Ends when `store` is dropped.
pub(crate) fn watch(store: &Arc<KeyStore>) {
    let weak = Arc::downgrade(store);
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            #[cfg(unix)]
            let force = {
                let hangup = async {
                    match hup.as_mut() {
                        Some(h) => h.recv().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = tick.tick() => false,
                    _ = hangup => true,
                }
            };
            #[cfg(not(unix))]
            let force = {
                tick.tick().await;
                false
            };
            let Some(store) = weak.upgrade() else { break };
            if force {
                tracing::info!("SIGHUP: reading the API key file again");
            }
            // Reading a file blocks: off the runtime's worker threads.
            let _ = tokio::task::spawn_blocking(move || store.reload(force)).await;
        }
    });
}

/// Seconds since 1970, now.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, or a bare date (midnight UTC), as seconds since
/// 1970.
pub fn parse_rfc3339(s: &str) -> Option<u64> {
    let s = s.trim();
    let num = |t: &str| -> Option<i64> {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let (date, time) = match s.split_once(['T', 't', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut parts = date.splitn(3, '-');
    let (y, mo, d) = (
        num(parts.next()?)?,
        num(parts.next()?)?,
        num(parts.next()?)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || y < 1970 {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) * 86_400;
    if let Some(time) = time {
        let (clock, offset) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
            (c, 0)
        } else {
            let at = time.rfind(['+', '-'])?;
            let (c, o) = time.split_at(at);
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (oh, om) = o[1..].split_once(':')?;
            (c, sign * (num(oh)? * 3600 + num(om)? * 60))
        };
        let clock = clock.split_once('.').map_or(clock, |(c, _)| c);
        let mut hms = clock.splitn(3, ':');
        let (h, mi, sec) = (num(hms.next()?)?, num(hms.next()?)?, num(hms.next()?)?);
        if h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        secs += h * 3600 + mi * 60 + sec - offset;
    }
    u64::try_from(secs).ok()
}

/// Seconds since 1970 as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(at: u64) -> String {
    let days = (at / 86_400) as i64;
    let rem = at % 86_400;
    // Civil date from days (the inverse of `days_from_civil`).
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(text: &str) -> KeyStore {
        KeyStore {
            path: PathBuf::new(),
            keys: RwLock::new(Arc::new(Loaded::new(parse(text).unwrap()))),
            stamp: std::sync::Mutex::new(None),
            reloads: tokio::sync::watch::Sender::new(0),
        }
    }

    #[test]
    fn a_generated_key_is_accepted_and_nothing_else_is() {
        let k = generate("ci", &["notes:read".into()], None).unwrap();
        assert!(k.secret.starts_with("mcpk_"));
        assert!(
            !k.line.contains(&k.secret[5 + 17..]),
            "the secret is not in the line"
        );
        let s = store(&k.line);
        let p = s.check(&k.secret, unix_now()).unwrap();
        assert_eq!(p.kind(), PrincipalKind::ApiKey);
        assert_eq!(p.key_id(), Some(k.id.as_str()));
        assert_eq!(p.key_name(), Some("ci"));
        assert!(p.has_scope("notes:read") && !p.has_scope("notes:write"));
        let mut wrong = k.secret.clone();
        wrong.pop();
        wrong.push(if k.secret.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(s.check(&wrong, 0).unwrap_err(), KeyRefusal::Unknown);
        assert_eq!(
            s.check("mcpk_0000000000000000_x", 0).unwrap_err(),
            KeyRefusal::Unknown
        );
        assert_eq!(s.check("hello", 0).unwrap_err(), KeyRefusal::Malformed);
        // The digest itself is not a key.
        let digest = hex(&Sha256::digest(k.secret.as_bytes()));
        assert!(s.check(&digest, 0).is_err());
    }

    #[test]
    fn expired_keys_are_refused() {
        let k = generate("old", &[], Some(1_000)).unwrap();
        assert!(k.line.contains("\"expires\":\"1970-01-01T00:16:40Z\""));
        let s = store(&k.line);
        assert!(s.check(&k.secret, 999).is_ok());
        // Remembered as checked now, and still refused once it expires.
        assert_eq!(s.keys.read().unwrap().checked.len(), 1);
        assert_eq!(
            s.check(&k.secret, 1_000).unwrap_err(),
            KeyRefusal::Expired(k.id.clone())
        );
    }

    #[test]
    fn a_checked_key_is_remembered_and_a_wrong_one_never() {
        let k = generate("ci", &[], None).unwrap();
        let s = store(&k.line);
        let mut wrong = k.secret.clone();
        wrong.pop();
        wrong.push(if k.secret.ends_with('A') { 'B' } else { 'A' });
        for _ in 0..3 {
            assert_eq!(s.check(&wrong, 0).unwrap_err(), KeyRefusal::Unknown);
        }
        assert_eq!(s.keys.read().unwrap().checked.len(), 0);
        for _ in 0..3 {
            assert_eq!(s.check(&k.secret, 0).unwrap().key_id(), Some(k.id.as_str()));
        }
        assert_eq!(s.keys.read().unwrap().checked.len(), 1);
        // Remembering the right key does not let a wrong one with its id through.
        assert_eq!(s.check(&wrong, 0).unwrap_err(), KeyRefusal::Unknown);
    }

    #[test]
    fn bad_files_name_the_line() {
        let e = parse("# keys\n\n{\"id\":\"a\",\"sha256\":\"00\"}").unwrap_err();
        assert!(e.starts_with("line 3: `sha256`"), "{e}");
        let e = parse("{\"id\":\"a\",\"sha256\":\"x\",\"scope\":[]}").unwrap_err();
        assert!(
            e.contains("line 1") && e.contains("unknown field `scope`"),
            "{e}"
        );
        let d = "0".repeat(64);
        let e = parse(&format!(
            "{{\"id\":\"a\",\"sha256\":\"{d}\"}}\n{{\"id\":\"a\",\"sha256\":\"{d}\"}}"
        ))
        .unwrap_err();
        assert!(e.contains("line 2: a second key"), "{e}");
        let e = parse(&format!(
            "{{\"id\":\"a\",\"sha256\":\"{d}\",\"expires\":\"tomorrow\"}}"
        ))
        .unwrap_err();
        assert!(e.contains("RFC 3339"), "{e}");
        let e = parse(&format!(
            "{{\"id\":\"a\",\"sha256\":\"{d}\",\"scopes\":[\"a b\"]}}"
        ))
        .unwrap_err();
        assert!(e.contains("scope \"a b\""), "{e}");
    }

    #[test]
    fn times_round_trip() {
        for t in [0, 1_000, 951_782_400, 1_798_761_600, 4_102_444_799] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t), "{t}");
        }
        assert_eq!(parse_rfc3339("2027-01-01"), Some(1_798_761_600));
        assert_eq!(
            parse_rfc3339("2027-01-01T02:00:00.5+02:00"),
            Some(1_798_761_600)
        );
        assert_eq!(parse_rfc3339("2027-13-01"), None);
        assert_eq!(parse_rfc3339("soon"), None);
    }

    #[test]
    fn the_file_is_reloaded_when_it_changes_and_kept_when_broken() {
        let dir = std::env::temp_dir().join(format!("mcp-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys.jsonl");
        let a = generate("a", &[], None).unwrap();
        let b = generate("b", &[], None).unwrap();
        std::fs::write(&path, format!("{}\n", a.line)).unwrap();
        let s = KeyStore::open(&path).unwrap();
        assert!(s.check(&a.secret, 0).is_ok());
        std::fs::write(&path, format!("{}\n{}\n", a.line, b.line)).unwrap();
        s.reload(true);
        assert!(s.check(&b.secret, 0).is_ok());
        std::fs::write(&path, "not json").unwrap();
        s.reload(true);
        assert_eq!(s.len(), 2, "a broken file leaves the keys as they were");
        // `a` was checked (and remembered) before it is removed: removing it revokes it.
        assert!(s.check(&a.secret, 0).is_ok());
        std::fs::write(&path, format!("{}\n", b.line)).unwrap();
        s.reload(true);
        assert_eq!(s.check(&a.secret, 0).unwrap_err(), KeyRefusal::Unknown);
        assert!(s.check(&b.secret, 0).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
