//! Connection limits: the cap on connections at once (derived from the file-descriptor limit
//! by default), the cap per client address, and backing off when `accept` fails.
//!
//! A connection over either cap is accepted and at once answered `503` with `Retry-After`
//! and closed, so the client learns why; the file-descriptor reserve left above the cap keeps
//! `accept` itself working while the server is full.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::HttpOptions;

/// File descriptors kept out of the connection cap, for the listener, logs, files the tools
/// open and the connections refused while full: 64, or half of a smaller limit.
pub(crate) fn reserve(nofile: u64) -> u64 {
    64.min(nofile / 2)
}

/// The connection cap a file-descriptor limit allows.
pub(crate) fn max_connections_for(nofile: u64) -> usize {
    let cap = nofile.saturating_sub(reserve(nofile)).max(1);
    usize::try_from(cap).unwrap_or(usize::MAX)
}

/// Raises the soft file-descriptor limit to the hard one and returns the soft limit now in
/// force (`None` where there is no such limit).
pub(crate) fn raise_nofile_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(soft) => Some(soft),
            Err(e) => {
                tracing::debug!(error = %e, "could not raise the file-descriptor limit");
                rlimit::Resource::NOFILE.get().ok().map(|(soft, _)| soft)
            }
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// The caps in force for a server: `options` where set, derived from the file limit otherwise.
pub(crate) fn resolve(options: &HttpOptions, nofile: Option<u64>) -> (usize, usize) {
    let total = options
        .max_connections
        .unwrap_or_else(|| nofile.map_or(10_000, max_connections_for));
    let per_address = options
        .max_connections_per_address
        .unwrap_or_else(|| (total / 4).max(1));
    (total, per_address.min(total))
}

/// Counts open connections, in all and per client address.
pub(crate) struct Connections {
    max: usize,
    max_per_address: usize,
    open: AtomicUsize,
    by_address: Mutex<HashMap<IpAddr, usize>>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Full {
    /// The server has [`HttpOptions::max_connections`] open.
    Server,
    /// This address has [`HttpOptions::max_connections_per_address`] open.
    Address,
}

impl Connections {
    pub(crate) fn new(max: usize, max_per_address: usize) -> Arc<Connections> {
        Arc::new(Connections {
            max,
            max_per_address,
            open: AtomicUsize::new(0),
            by_address: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn max(&self) -> usize {
        self.max
    }

    pub(crate) fn max_per_address(&self) -> usize {
        self.max_per_address
    }

    /// Counts a new connection from `ip`, or says which cap it would pass.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Full> {
        let mut by_address = self.by_address.lock().unwrap_or_else(|e| e.into_inner());
        if self.open.load(Ordering::Relaxed) >= self.max {
            return Err(Full::Server);
        }
        let n = by_address.entry(ip).or_insert(0);
        if *n >= self.max_per_address {
            return Err(Full::Address);
        }
        *n += 1;
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(Permit {
            connections: Arc::clone(self),
            ip,
        })
    }
}

/// One counted connection; dropping it frees its place.
pub(crate) struct Permit {
    connections: Arc<Connections>,
    ip: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut by_address = self
            .connections
            .by_address
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = by_address.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                by_address.remove(&self.ip);
            }
        }
        self.connections.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The bytes sent to a connection refused for a full server or address.
pub(crate) fn refusal(full: Full) -> &'static [u8] {
    match full {
        Full::Server => {
            b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\nconnection: close\r\n\
              content-type: text/plain; charset=utf-8\r\ncontent-length: 57\r\n\r\n\
              Service Unavailable: too many connections; retry shortly\n"
        }
        Full::Address => {
            b"HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\nconnection: close\r\n\
              content-type: text/plain; charset=utf-8\r\ncontent-length: 75\r\n\r\n\
              Service Unavailable: too many connections from this address; retry shortly\n"
        }
    }
}

/// How long to wait after `accept` failed, growing while it keeps failing, and a warning at
/// most every [`AcceptBackoff::WARN_EVERY`] that says how many failures it stands for.
pub(crate) struct AcceptBackoff {
    delay: Duration,
    last_warning: Option<Instant>,
    unreported: u64,
}

impl AcceptBackoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MOST: Duration = Duration::from_secs(1);
    pub(crate) const WARN_EVERY: Duration = Duration::from_secs(10);

    pub(crate) fn new() -> AcceptBackoff {
        AcceptBackoff {
            delay: Duration::ZERO,
            last_warning: None,
            unreported: 0,
        }
    }

    /// `accept` failed with `error`: logs if due, returns how long to wait before the next.
    pub(crate) fn failed(&mut self, error: &std::io::Error) -> Duration {
        self.delay = (self.delay * 2).clamp(Self::FIRST, Self::MOST);
        self.unreported += 1;
        let now = Instant::now();
        if self
            .last_warning
            .is_none_or(|t| now.duration_since(t) >= Self::WARN_EVERY)
        {
            tracing::warn!(
                error = %error,
                failures = self.unreported,
                retry_ms = self.delay.as_millis() as u64,
                "accepting connections fails (out of file descriptors? raise `ulimit -n` or lower --max-connections); \
                 backing off, next warning in 10 s at the earliest"
            );
            self.last_warning = Some(now);
            self.unreported = 0;
        }
        self.delay
    }

    /// `accept` worked again.
    pub(crate) fn succeeded(&mut self) {
        self.delay = Duration::ZERO;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_a_reserve_of_the_file_limit() {
        assert_eq!(max_connections_for(1024), 960);
        assert_eq!(max_connections_for(64), 32);
        assert_eq!(max_connections_for(1), 1);
        assert!(max_connections_for(u64::MAX) > 1 << 40);
        let options = HttpOptions::default();
        assert_eq!(resolve(&options, Some(1024)), (960, 240));
        let options = HttpOptions {
            max_connections: Some(10),
            max_connections_per_address: Some(50),
            ..HttpOptions::default()
        };
        assert_eq!(resolve(&options, Some(1024)), (10, 10));
    }

    #[test]
    fn connections_are_counted_per_address_and_freed() {
        let c = Connections::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let a1 = c.admit(a).unwrap();
        let _a2 = c.admit(a).unwrap();
        assert_eq!(c.admit(a).err(), Some(Full::Address));
        let _b1 = c.admit(b).unwrap();
        assert_eq!(c.admit(b).err(), Some(Full::Server));
        drop(a1);
        assert!(c.admit(b).is_ok());
    }

    #[test]
    fn refusals_are_well_formed_http() {
        for full in [Full::Server, Full::Address] {
            let text = std::str::from_utf8(refusal(full)).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(body.len(), length, "{text:?}");
        }
    }

    #[test]
    fn accept_failures_back_off_and_warn_rarely() {
        let mut b = AcceptBackoff::new();
        let e = std::io::Error::other("EMFILE");
        let delays: Vec<Duration> = (0..12).map(|_| b.failed(&e)).collect();
        assert_eq!(delays[0], AcceptBackoff::FIRST);
        assert!(delays.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(*delays.last().unwrap(), AcceptBackoff::MOST);
        // One warning went out; the eleven failures after it wait for the next.
        assert!(b.last_warning.is_some());
        assert_eq!(b.unreported, 11);
        b.succeeded();
        assert_eq!(b.failed(&e), AcceptBackoff::FIRST);
    }
}
