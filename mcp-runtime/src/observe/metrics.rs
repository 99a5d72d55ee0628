//! Prometheus metrics in the OpenMetrics text format, from `prometheus-client`.
//!
//! [`Metrics`] holds the series a server records once given it with
//! [`Server::metrics`](crate::Server::metrics):
//!
//! | series | type | labels |
//! |---|---|---|
//! | `mcp_server_requests_total` | counter | `method`, `outcome` (`ok`, `error`, `rate_limited`) |
//! | `mcp_server_request_duration_seconds` | histogram | `method` |
//! | `mcp_server_calls_total` | counter | `kind` (`tool`, `resource`, `prompt`), `name`, `outcome` (`ok`, `tool_error`, `error`) |
//! | `mcp_server_call_duration_seconds` | histogram | `kind`, `name` |
//! | `mcp_server_requests_in_flight` | gauge | |
//! | `mcp_server_sessions` | gauge | |
//! | `mcp_server_sse_streams` | gauge | |
//! | `mcp_server_auth_failures_total` | counter | |
//! | `mcp_server_rate_limited_total` | counter | |
//! | `mcp_server_sse_slow_consumers_total` | counter | |
//!
//! Label values are bounded: `method` is a method of the protocol or `other`, `name` a tool
//! or prompt the server has, or the URI or URI template a resource was registered with.

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::middleware::{
    BoxFuture, Middleware, Next, PromptOutcome, PromptRequest, ResourceOutcome, ResourceRequest,
};
use crate::server::ServerCore;

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Latency buckets, in seconds: from half a millisecond to a minute.
const BUCKETS: [f64; 16] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

fn histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    kind: &'static str,
    name: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallNameLabels {
    kind: &'static str,
    name: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

struct Inner {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    request_duration: HistogramFamily<MethodLabels>,
    calls: Family<CallLabels, Counter>,
    call_duration: HistogramFamily<CallNameLabels>,
    in_flight: Gauge,
    sessions: Gauge,
    sse_streams: Gauge,
    auth_failures: Counter,
    rate_limited: Counter,
    /// The servers recording here, whose live sessions are counted at each render.
    servers: Mutex<Vec<Weak<ServerCore>>>,
    // Slow SSE consumers.
    slow_sse: Counter,
    /// The series of each method ([`METHODS`], then `other`), resolved once.
    methods: Box<[MethodSeries]>,
    /// The series of the items called, resolved once per item (see [`CallSeries`]).
    items: Box<[OnceLock<CallSeries>]>,
}

/// The handles of one method's series, each taken from its family the first time it is used
/// (so that a series appears in a scrape once it has a value, as with `get_or_create`), then
/// updated with an atomic add: no label set hashed, no lock taken per request.
#[derive(Default)]
struct MethodSeries {
    ok: OnceLock<Counter>,
    error: OnceLock<Counter>,
    rate_limited: OnceLock<Counter>,
    duration: OnceLock<Histogram>,
}

/// The handles of one item's series. Items are found by the address of their `&'static`
/// name in a table of [`ITEM_SLOTS`] slots, each taken by the first item that lands in it;
/// an item whose slot another holds is recorded through the families, as before.
struct CallSeries {
    kind: &'static str,
    name: &'static str,
    ok: OnceLock<Counter>,
    tool_error: OnceLock<Counter>,
    error: OnceLock<Counter>,
    duration: Histogram,
}

/// The slots of [`Inner::items`].
const ITEM_SLOTS: usize = 256;

fn slot_of(kind: &'static str, name: &'static str) -> usize {
    let key = (name.as_ptr() as usize as u64) ^ ((kind.as_ptr() as usize as u64) << 1);
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize % ITEM_SLOTS
}

/// The metrics of a server: give a clone to [`Server::metrics`](crate::Server::metrics),
/// keep one to [`render`](Metrics::render) them or to add series of your own to the
/// [`registry`](Metrics::with_registry). Over HTTP the server serves them at `/metrics`.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// The series listed in the [module documentation](self), all at zero.
    pub fn new() -> Metrics {
        let inner = Inner {
            registry: Mutex::new(Registry::default()),
            requests: Family::default(),
            request_duration: Family::new_with_constructor(histogram),
            calls: Family::default(),
            call_duration: Family::new_with_constructor(histogram),
            in_flight: Gauge::default(),
            sessions: Gauge::default(),
            sse_streams: Gauge::default(),
            auth_failures: Counter::default(),
            rate_limited: Counter::default(),
            servers: Mutex::new(Vec::new()),
            slow_sse: Counter::default(),
            methods: (0..=METHODS.len())
                .map(|_| MethodSeries::default())
                .collect(),
            items: (0..ITEM_SLOTS).map(|_| OnceLock::new()).collect(),
        };
        {
            let mut r = inner.registry.lock().unwrap_or_else(|e| e.into_inner());
            r.register(
                "mcp_server_requests",
                "Requests answered, by JSON-RPC method and outcome",
                inner.requests.clone(),
            );
            r.register_with_unit(
                "mcp_server_request_duration",
                "Time to answer a request, by JSON-RPC method",
                Unit::Seconds,
                inner.request_duration.clone(),
            );
            r.register(
                "mcp_server_calls",
                "Tool calls, resource reads and prompt gets, by name and outcome",
                inner.calls.clone(),
            );
            r.register_with_unit(
                "mcp_server_call_duration",
                "Time a tool call, resource read or prompt get took, by name",
                Unit::Seconds,
                inner.call_duration.clone(),
            );
            r.register(
                "mcp_server_requests_in_flight",
                "Requests being answered",
                inner.in_flight.clone(),
            );
            r.register(
                "mcp_server_sessions",
                "Sessions that completed the handshake and are still open",
                inner.sessions.clone(),
            );
            r.register(
                "mcp_server_sse_streams",
                "Open SSE streams (HTTP)",
                inner.sse_streams.clone(),
            );
            r.register(
                "mcp_server_auth_failures",
                "HTTP requests refused for a missing or wrong credential",
                inner.auth_failures.clone(),
            );
            r.register(
                "mcp_server_rate_limited",
                "Requests refused by the rate limit",
                inner.rate_limited.clone(),
            );
            r.register(
                "mcp_server_sse_slow_consumers",
                "SSE connections closed because the client read too slowly (HTTP)",
                inner.slow_sse.clone(),
            );
        }
        Metrics(Arc::new(inner))
    }

    /// Runs `f` on the registry, to register series of your own; they are rendered with the
    /// server's.
    pub fn with_registry<R>(&self, f: impl FnOnce(&mut Registry) -> R) -> R {
        f(&mut self.0.registry.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Every series, in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let sessions: usize = {
            let mut servers = self.0.servers.lock().unwrap_or_else(|e| e.into_inner());
            servers.retain(|s| s.strong_count() > 0);
            servers
                .iter()
                .filter_map(Weak::upgrade)
                .map(|core| core.sessions().len())
                .sum()
        };
        self.0.sessions.set(sessions as i64);
        let mut out = String::with_capacity(4096);
        let registry = self.0.registry.lock().unwrap_or_else(|e| e.into_inner());
        prometheus_client::encoding::text::encode(&mut out, &registry)
            .expect("writing to a String does not fail");
        out
    }

    /// Counts the live sessions of `core` at each render.
    pub(crate) fn attach(&self, core: &Arc<ServerCore>) {
        self.0
            .servers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::downgrade(core));
    }

    pub(crate) fn rate_limited(&self, method: &str) {
        self.0.rate_limited.inc();
        self.request_counter(method_index(method), "rate_limited")
            .inc();
    }

    /// The counter of requests of `METHODS[index]` (or `other`) with `outcome`.
    fn request_counter(&self, index: usize, outcome: &'static str) -> &Counter {
        let series = &self.0.methods[index];
        let slot = match outcome {
            "ok" => &series.ok,
            "error" => &series.error,
            _ => &series.rate_limited,
        };
        slot.get_or_init(|| {
            self.0
                .requests
                .get_or_create(&RequestLabels {
                    method: label_of(index),
                    outcome,
                })
                .clone()
        })
    }

    /// The duration histogram of requests of `METHODS[index]` (or `other`).
    fn request_duration(&self, index: usize) -> &Histogram {
        self.0.methods[index].duration.get_or_init(|| {
            self.0
                .request_duration
                .get_or_create(&MethodLabels {
                    method: label_of(index),
                })
                .clone()
        })
    }

    pub(crate) fn auth_failure(&self) {
        self.0.auth_failures.inc();
    }

    /// Counts an SSE stream for as long as the guard lives.
    pub(crate) fn sse_stream(&self) -> GaugeGuard {
        self.0.sse_streams.inc();
        GaugeGuard(self.0.sse_streams.clone())
    }

    /// Counts an SSE connection closed for a client that read too slowly.
    #[cfg(feature = "http-server")]
    pub(crate) fn slow_sse_consumer(&self) {
        self.0.slow_sse.inc();
    }

    /// A request begins: one more in flight.
    pub(crate) fn request_started(&self) {
        self.0.in_flight.inc();
    }

    /// A request [`request_started`](Metrics::request_started) of the method at `index` (see
    /// [`method_index`]) ends, answered (`error`: with an error response) after `elapsed`, or
    /// not (`None`: dropped unanswered).
    pub(crate) fn request_ended(&self, index: usize, answered: Option<(bool, Duration)>) {
        self.0.in_flight.dec();
        let Some((error, elapsed)) = answered else {
            return;
        };
        let outcome = if error { "error" } else { "ok" };
        self.request_counter(index, outcome).inc();
        self.request_duration(index).observe(elapsed.as_secs_f64());
    }

    pub(crate) fn call(
        &self,
        kind: &'static str,
        name: &'static str,
        outcome: &'static str,
        since: Instant,
    ) {
        let seconds = since.elapsed().as_secs_f64();
        let slot = &self.0.items[slot_of(kind, name)];
        let series = slot.get_or_init(|| CallSeries {
            kind,
            name,
            ok: OnceLock::new(),
            tool_error: OnceLock::new(),
            error: OnceLock::new(),
            duration: self
                .0
                .call_duration
                .get_or_create(&CallNameLabels { kind, name })
                .clone(),
        });
        if !(std::ptr::eq(series.name, name) && series.kind == kind) {
            // The slot is another item's.
            self.0
                .calls
                .get_or_create(&CallLabels {
                    kind,
                    name,
                    outcome,
                })
                .inc();
            self.0
                .call_duration
                .get_or_create(&CallNameLabels { kind, name })
                .observe(seconds);
            return;
        }
        let counter = match outcome {
            "ok" => &series.ok,
            "tool_error" => &series.tool_error,
            _ => &series.error,
        };
        counter
            .get_or_init(|| {
                self.0
                    .calls
                    .get_or_create(&CallLabels {
                        kind,
                        name,
                        outcome,
                    })
                    .clone()
            })
            .inc();
        series.duration.observe(seconds);
    }
}

/// Takes one off a gauge when dropped.
pub(crate) struct GaugeGuard(Gauge);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The methods of the protocol, the values of the `method` label besides `other` (clients
/// choose method names; series must stay bounded).
const METHODS: [&str; 18] = [
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
    "server/discover",
    "subscriptions/listen",
    "tasks/get",
    "tasks/update",
    "tasks/cancel",
];

/// The position of `method` in [`METHODS`], or `METHODS.len()` for `other`.
pub(crate) fn method_index(method: &str) -> usize {
    METHODS
        .iter()
        .position(|m| *m == method)
        .unwrap_or(METHODS.len())
}

fn label_of(index: usize) -> &'static str {
    METHODS.get(index).copied().unwrap_or("other")
}

/// The `method` label: a method of the protocol, or `other`.
#[cfg(test)]
fn method_label(method: &str) -> &'static str {
    label_of(method_index(method))
}

/// Records the series of resource reads and prompt gets: the outermost hooks of a server with
/// metrics. Requests and tool calls are recorded by `observe::watch`, around the chain.
pub(crate) struct Recorder(pub(crate) Metrics);

impl Middleware for Recorder {
    fn on_read_resource<'a>(
        &'a self,
        read: &'a mut ResourceRequest,
        next: Next<'a, ResourceRequest, ResourceOutcome>,
    ) -> BoxFuture<'a, ResourceOutcome> {
        Box::pin(async move {
            let since = Instant::now();
            let outcome = next.run(read).await;
            let label = if outcome.is_ok() { "ok" } else { "error" };
            self.0.call("resource", read.resource(), label, since);
            outcome
        })
    }

    fn on_get_prompt<'a>(
        &'a self,
        get: &'a mut PromptRequest,
        next: Next<'a, PromptRequest, PromptOutcome>,
    ) -> BoxFuture<'a, PromptOutcome> {
        Box::pin(async move {
            let since = Instant::now();
            let outcome = next.run(get).await;
            let label = if outcome.is_ok() { "ok" } else { "error" };
            self.0.call("prompt", get.name(), label, since);
            outcome
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_method_is_counted_as_other() {
        assert_eq!(method_label("tools/call"), "tools/call");
        assert_eq!(method_label("made/up"), "other");
    }

    #[test]
    fn items_sharing_a_slot_are_all_counted() {
        let m = Metrics::new();
        // More items than slots: some land in a slot another holds.
        let names: Vec<&'static str> = (0..ITEM_SLOTS * 2)
            .map(|i| &*format!("tool{i}").leak())
            .collect();
        for (i, name) in names.iter().enumerate() {
            for _ in 0..=i % 3 {
                m.call("tool", name, "ok", Instant::now());
            }
            m.call("tool", name, "tool_error", Instant::now());
        }
        let text = m.render();
        for (i, name) in names.iter().enumerate() {
            let ok = format!(
                "mcp_server_calls_total{{kind=\"tool\",name=\"{name}\",outcome=\"ok\"}} {}\n",
                i % 3 + 1
            );
            let failed = format!(
                "mcp_server_calls_total{{kind=\"tool\",name=\"{name}\",outcome=\"tool_error\"}} 1\n"
            );
            let count = format!(
                "mcp_server_call_duration_seconds_count{{kind=\"tool\",name=\"{name}\"}} {}\n",
                i % 3 + 2
            );
            assert!(
                text.contains(&ok) && text.contains(&failed) && text.contains(&count),
                "{name}"
            );
        }
        // Series appear once used, as before: no `error` outcome was recorded.
        assert!(!text.contains("outcome=\"error\""));
    }

    #[test]
    fn request_series_are_counted_per_method_and_outcome() {
        let m = Metrics::new();
        for _ in 0..3 {
            m.request_counter(method_index("tools/call"), "ok").inc();
        }
        m.request_counter(method_index("made/up"), "error").inc();
        m.request_duration(method_index("tools/call"))
            .observe(0.001);
        let text = m.render();
        assert!(
            text.contains(r#"mcp_server_requests_total{method="tools/call",outcome="ok"} 3"#),
            "{text}"
        );
        assert!(
            text.contains(r#"mcp_server_requests_total{method="other",outcome="error"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"mcp_server_request_duration_seconds_count{method="tools/call"} 1"#),
            "{text}"
        );
        assert!(!text.contains(r#"method="ping""#), "{text}");
    }

    #[test]
    fn renders_openmetrics_text() {
        let m = Metrics::new();
        m.rate_limited("tools/call");
        m.call("tool", "add", "ok", Instant::now());
        let text = m.render();
        assert!(text.contains("mcp_server_rate_limited_total 1"), "{text}");
        assert!(
            text.contains(
                r#"mcp_server_requests_total{method="tools/call",outcome="rate_limited"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"mcp_server_call_duration_seconds_count{kind="tool",name="add"} 1"#),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
