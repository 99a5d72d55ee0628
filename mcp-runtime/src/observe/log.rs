//! Where log lines go: one bounded buffer in memory, written to stderr by a thread of its own,
//! and the HTTP access log's line, formatted straight into that buffer.
//!
//! A line is appended under a mutex (no allocation, no channel, no wake-up per line); the
//! writer thread is started by the second line (the first is written at once: a stdio server
//! logs one line before its first answer, which would otherwise wait for a thread to be
//! made), woken when the buffer stops being empty, and waits [`FLUSH_INTERVAL`] for
//! more lines (less when [`FLUSH_SIZE`] bytes wait) and writes them in one `write`. A burst
//! past [`MAX_WAITING`] bytes drops lines rather than holding requests up, and the next write
//! says how many. [`stop`] writes what is left and ends the thread; lines after it are
//! written at once.
//!
//! The access log is formatted here rather than by `tracing-subscriber` when
//! [`init_logging`](crate::init_logging) installed the subscriber (so the line is exactly what
//! its layer would write, minus the work): the format is known, and there is no span around
//! it. With any other subscriber the access log is an ordinary `tracing` event.

use std::io::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::escape::Escaped;

/// How long the writer thread gathers lines before writing them.
pub(crate) const FLUSH_INTERVAL: Duration = Duration::from_millis(50);

/// Waiting bytes that make the writer thread write at once.
pub(crate) const FLUSH_SIZE: usize = 64 * 1024;

/// The most bytes waiting to be written; lines past it are dropped (and counted).
pub(crate) const MAX_WAITING: usize = 8 * 1024 * 1024;

struct State {
    /// Lines waiting for the writer thread.
    waiting: Vec<u8>,
    /// Lines dropped since the last write.
    dropped: u64,
    /// Whether lines go through the writer thread (otherwise they are written at once).
    running: bool,
    /// The writer thread, once the second line has started it.
    thread: Option<std::thread::JoinHandle<()>>,
    /// A line has been written at once since `start`.
    first_written: bool,
    /// The writer thread is asked to write what is left and end.
    stopping: bool,
    /// The second of [`Stamp::prefix`].
    stamp: Stamp,
}

/// `YYYY-MM-DDTHH:MM:SS.` of the last second a line was stamped in.
struct Stamp {
    second: u64,
    prefix: [u8; 20],
}

/// Where the lines of [`init_logging`](crate::init_logging)'s subscriber go.
pub(crate) struct Sink {
    state: Mutex<State>,
    wake: Condvar,
}

static SINK: Sink = Sink {
    state: Mutex::new(State {
        waiting: Vec::new(),
        dropped: 0,
        running: false,
        thread: None,
        first_written: false,
        stopping: false,
        stamp: Stamp {
            second: u64::MAX,
            prefix: [0; 20],
        },
    }),
    wake: Condvar::new(),
};

/// How the access log is written: through `tracing`, or formatted here as text or JSON.
static FORMAT: AtomicU8 = AtomicU8::new(THROUGH_TRACING);
const THROUGH_TRACING: u8 = 0;
const TEXT: u8 = 1;
const JSON: u8 = 2;

/// The access-log format matching the subscriber just installed: the plain text format
/// (without ANSI colours) or JSON. Anything else leaves the access log to `tracing`.
pub(crate) fn format_access_log_as(json: bool, ansi: bool) {
    let format = match (json, ansi) {
        (true, _) => JSON,
        (false, false) => TEXT,
        (false, true) => THROUGH_TRACING,
    };
    FORMAT.store(format, Ordering::Relaxed);
}

fn lock() -> MutexGuard<'static, State> {
    SINK.state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sends lines through the writer thread from now on; the second line starts it.
pub(crate) fn start() {
    let mut state = lock();
    state.running = true;
    state.first_written = false;
}

/// Writes the lines waiting, and ends the writer thread; later lines are written at once.
pub(crate) fn stop() {
    let handle = {
        let mut state = lock();
        let Some(handle) = state.thread.take() else {
            // At most one line came, written at once: no thread, and nothing waits.
            state.running = false;
            return;
        };
        state.stopping = true;
        handle
    };
    SINK.wake.notify_one();
    let _ = handle.join();
}

/// The writer thread: waits for lines, gathers them for a moment, writes them in one go.
fn writer() {
    let mut out = Vec::with_capacity(FLUSH_SIZE);
    let mut state = lock();
    loop {
        while state.waiting.is_empty() && !state.stopping {
            state = SINK.wake.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        if !state.stopping && state.waiting.len() < FLUSH_SIZE {
            state = SINK
                .wake
                .wait_timeout(state, FLUSH_INTERVAL)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        std::mem::swap(&mut state.waiting, &mut out);
        let dropped = std::mem::take(&mut state.dropped);
        let stopping = state.stopping;
        if stopping {
            state.running = false;
            state.stopping = false;
        }
        drop(state);
        write_out(&out, dropped);
        out.clear();
        if out.capacity() > 4 * FLUSH_SIZE {
            out = Vec::with_capacity(FLUSH_SIZE);
        }
        if stopping {
            return;
        }
        state = lock();
    }
}

fn write_out(lines: &[u8], dropped: u64) {
    let mut err = std::io::stderr().lock();
    // A closed stderr loses the log, not the server.
    let _ = err.write_all(lines);
    if dropped > 0 {
        let _ = writeln!(
            err,
            "{dropped} log lines were dropped: they came faster than stderr took them"
        );
    }
    let _ = err.flush();
}

/// Appends a whole line (or lines) to the buffer.
pub(crate) fn append(line: &[u8]) {
    let mut state = lock();
    if !state.running {
        // Written under the lock, so that lines keep their order.
        write_out(line, std::mem::take(&mut state.dropped));
        return;
    }
    push(&mut state, |buf| buf.extend_from_slice(line));
}

/// Formats a line into the buffer with `write`, keeping it only if it fits.
fn push(state: &mut State, write: impl FnOnce(&mut Vec<u8>)) {
    let was_empty = state.waiting.is_empty();
    let before = state.waiting.len();
    write(&mut state.waiting);
    let len = state.waiting.len();
    if len > MAX_WAITING {
        state.waiting.truncate(before);
        state.dropped += 1;
        return;
    }
    if state.thread.is_none() && state.running {
        if !state.first_written {
            state.first_written = true;
            let lines = std::mem::take(&mut state.waiting);
            write_out(&lines, std::mem::take(&mut state.dropped));
            state.waiting = lines;
            state.waiting.clear();
            return;
        }
        // The second line since `start`: the thread that writes it and the next ones.
        match std::thread::Builder::new()
            .name("mcp-log-writer".into())
            .spawn(writer)
        {
            Ok(handle) => state.thread = Some(handle),
            // No thread: these lines are written now (under the lock: in order), and the
            // next ones as they come.
            Err(_) => {
                state.running = false;
                let lines = std::mem::take(&mut state.waiting);
                write_out(&lines, std::mem::take(&mut state.dropped));
            }
        }
        return;
    }
    if was_empty || (before < FLUSH_SIZE && len >= FLUSH_SIZE) {
        SINK.wake.notify_one();
    }
}

/// The writer of [`init_logging`](crate::init_logging)'s layer: every line into the buffer.
#[derive(Clone, Copy, Default)]
pub(crate) struct SinkWriter;

impl std::io::Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        append(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for SinkWriter {
    type Writer = SinkWriter;

    fn make_writer(&'a self) -> SinkWriter {
        SinkWriter
    }
}

/// One line of the HTTP access log.
pub(crate) struct AccessLine<'a> {
    /// The HTTP method.
    pub(crate) method: &'a str,
    /// The JSON-RPC method (client text), or `-`.
    pub(crate) rpc: &'a str,
    /// The tool called (client text), or `-`.
    pub(crate) tool: &'a str,
    /// The session's short id, or `-`.
    pub(crate) session: &'a str,
    pub(crate) status: u16,
    pub(crate) sse: bool,
    pub(crate) micros: u64,
    /// The caller's subject (from a credential), or `-`.
    pub(crate) caller: &'a str,
}

/// The target of the access log's lines.
pub(crate) const ACCESS_TARGET: &str = "mcp_runtime::http";

impl AccessLine<'_> {
    /// Writes the line, if `mcp_runtime::http` logs at INFO.
    pub(crate) fn log(&self) {
        if !tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO) {
            return;
        }
        match FORMAT.load(Ordering::Relaxed) {
            TEXT => self.write(false),
            JSON => self.write(true),
            _ => tracing::info!(
                target: ACCESS_TARGET,
                method = %self.method,
                rpc = ?Escaped(self.rpc),
                tool = ?Escaped(self.tool),
                session = self.session,
                status = self.status,
                sse = self.sse,
                micros = self.micros,
                caller = ?Escaped(self.caller),
                "request"
            ),
        }
    }

    fn write(&self, json: bool) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let mut state = lock();
        let prefix = state.stamp.prefix_for(now.as_secs());
        if !state.running {
            let mut line = Vec::with_capacity(256);
            self.format(&mut line, &prefix, now.subsec_micros(), json);
            write_out(&line, std::mem::take(&mut state.dropped));
            return;
        }
        push(&mut state, |buf| {
            self.format(buf, &prefix, now.subsec_micros(), json)
        });
    }

    /// The line as `tracing-subscriber`'s full text format (no target, no colours) or its
    /// JSON format writes it.
    fn format(&self, out: &mut Vec<u8>, prefix: &[u8; 20], micros: u32, json: bool) {
        if json {
            out.extend_from_slice(b"{\"timestamp\":\"");
            stamp(out, prefix, micros);
            out.extend_from_slice(
                b"\",\"level\":\"INFO\",\"fields\":{\"message\":\"request\",\"method\":",
            );
            json_string(out, self.method);
            out.extend_from_slice(b",\"rpc\":");
            json_debug(out, self.rpc);
            out.extend_from_slice(b",\"tool\":");
            json_debug(out, self.tool);
            out.extend_from_slice(b",\"session\":");
            json_string(out, self.session);
            out.extend_from_slice(b",\"status\":");
            number(out, u64::from(self.status));
            out.extend_from_slice(if self.sse {
                b",\"sse\":true,\"micros\":"
            } else {
                b",\"sse\":false,\"micros\":"
            });
            number(out, self.micros);
            out.extend_from_slice(b",\"caller\":");
            json_debug(out, self.caller);
            out.extend_from_slice(b"},\"target\":\"mcp_runtime::http\"}\n");
        } else {
            stamp(out, prefix, micros);
            out.extend_from_slice(b"  INFO request method=");
            out.extend_from_slice(self.method.as_bytes());
            out.extend_from_slice(b" rpc=");
            escaped(out, self.rpc);
            out.extend_from_slice(b" tool=");
            escaped(out, self.tool);
            out.extend_from_slice(b" session=");
            debug_str(out, self.session);
            out.extend_from_slice(b" status=");
            number(out, u64::from(self.status));
            out.extend_from_slice(if self.sse {
                b" sse=true micros="
            } else {
                b" sse=false micros="
            });
            number(out, self.micros);
            out.extend_from_slice(b" caller=");
            escaped(out, self.caller);
            out.push(b'\n');
        }
    }
}

impl Stamp {
    /// `YYYY-MM-DDTHH:MM:SS.` of `second` (seconds since 1970), computed once a second.
    fn prefix_for(&mut self, second: u64) -> [u8; 20] {
        if self.second != second {
            self.second = second;
            self.prefix = civil(second);
        }
        self.prefix
    }
}

/// `YYYY-MM-DDTHH:MM:SS.` of seconds since 1970 (UTC, proleptic Gregorian).
fn civil(at: u64) -> [u8; 20] {
    let days = (at / 86_400) as i64;
    let rem = at % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = (yoe + era * 400 + i64::from(month <= 2)).clamp(0, 9999) as u64;
    let mut out = *b"0000-00-00T00:00:00.";
    let mut put = |at: usize, width: usize, mut n: u64| {
        for i in (0..width).rev() {
            out[at + i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, month as u64);
    put(8, 2, day as u64);
    put(11, 2, rem / 3600);
    put(14, 2, rem % 3600 / 60);
    put(17, 2, rem % 60);
    out
}

/// The timestamp: the second's prefix, six digits of microseconds, `Z`.
fn stamp(out: &mut Vec<u8>, prefix: &[u8; 20], micros: u32) {
    out.extend_from_slice(prefix);
    let mut digits = *b"000000Z";
    let mut n = micros.min(999_999);
    for i in (0..6).rev() {
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend_from_slice(&digits);
}

/// `"text"`, escaped and cut as [`Escaped`]'s `Debug` writes it; plain text is copied.
fn escaped(out: &mut Vec<u8>, text: &str) {
    if text.len() <= crate::escape::QUOTED_CHARS && text.bytes().all(plain) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        let _ = write!(out, "{:?}", Escaped(text));
    }
}

/// `"text"` as `str`'s `Debug` writes it (a `&str` field of the text format).
fn debug_str(out: &mut Vec<u8>, text: &str) {
    if text.bytes().all(plain) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        let _ = write!(out, "{text:?}");
    }
}

/// A number in decimal.
fn number(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Printable ASCII that neither [`Escaped`] nor JSON escapes.
fn plain(b: u8) -> bool {
    (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'
}

/// A JSON string of `text`.
fn json_string(out: &mut Vec<u8>, text: &str) {
    if text.bytes().all(plain) {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

/// A JSON string of [`Escaped`]'s `Debug` of `text` (`"\"text\""`), as the JSON format
/// writes a `?` field.
fn json_debug(out: &mut Vec<u8>, text: &str) {
    if text.len() <= crate::escape::QUOTED_CHARS && text.bytes().all(plain) {
        out.extend_from_slice(b"\"\\\"");
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(b"\\\"\"");
    } else {
        let _ = serde_json::to_writer(&mut *out, &format!("{:?}", Escaped(text)));
    }
}

/// The fields of spans and events in the text format, as `tracing-subscriber`'s
/// `DefaultFields` writes them without colours, with the common fields (a name, and text that
/// needs no escaping, a number or a boolean) written without its formatting machinery: a
/// request's span is formatted when it opens, whether or not anything is logged inside it.
/// Anything else goes to `DefaultFields`' own visitor.
#[derive(Clone, Copy, Default)]
pub(crate) struct PlainFields;

impl<'w> tracing_subscriber::fmt::FormatFields<'w> for PlainFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        writer: tracing_subscriber::fmt::format::Writer<'w>,
        fields: R,
    ) -> std::fmt::Result {
        let mut visitor = PlainVisitor {
            writer,
            is_empty: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct PlainVisitor<'a> {
    writer: tracing_subscriber::fmt::format::Writer<'a>,
    is_empty: bool,
    result: std::fmt::Result,
}

impl PlainVisitor<'_> {
    /// Whether `name=value` is how `DefaultFields` writes the field `name`.
    fn plain_name(&self, name: &str) -> bool {
        name != "message" && !name.starts_with("r#") && !self.writer.has_ansi_escapes()
    }

    fn write_plain(&mut self, name: &str, value: std::fmt::Arguments<'_>) {
        let pad = if self.is_empty { "" } else { " " };
        self.is_empty = false;
        self.result = self.writer.write_fmt(format_args!("{pad}{name}={value}"));
    }

    fn delegate(
        &mut self,
        record: impl FnOnce(&mut tracing_subscriber::fmt::format::DefaultVisitor<'_>),
    ) {
        use tracing_subscriber::field::VisitOutput as _;
        let mut inner = tracing_subscriber::fmt::format::DefaultVisitor::new(
            self.writer.by_ref(),
            self.is_empty,
        );
        record(&mut inner);
        self.is_empty = false;
        self.result = inner.finish();
    }
}

impl tracing::field::Visit for PlainVisitor<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        if self.plain_name(field.name()) && value.bytes().all(plain) {
            let pad = if self.is_empty { "" } else { " " };
            self.is_empty = false;
            let w = &mut self.writer;
            self.result = w
                .write_str(pad)
                .and_then(|()| w.write_str(field.name()))
                .and_then(|()| w.write_str("=\""))
                .and_then(|()| w.write_str(value))
                .and_then(|()| w.write_str("\""));
        } else {
            self.delegate(|v| v.record_str(field, value));
        }
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        if self.result.is_err() {
            return;
        }
        if self.plain_name(field.name()) {
            self.write_plain(field.name(), format_args!("{value}"));
        } else {
            self.delegate(|v| v.record_u64(field, value));
        }
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        if self.result.is_err() {
            return;
        }
        if self.plain_name(field.name()) {
            self.write_plain(field.name(), format_args!("{value}"));
        } else {
            self.delegate(|v| v.record_i64(field, value));
        }
    }

    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        if self.result.is_err() {
            return;
        }
        if self.plain_name(field.name()) {
            self.write_plain(field.name(), format_args!("{value}"));
        } else {
            self.delegate(|v| v.record_bool(field, value));
        }
    }

    fn record_error(
        &mut self,
        field: &tracing::field::Field,
        value: &(dyn std::error::Error + 'static),
    ) {
        if self.result.is_err() {
            return;
        }
        self.delegate(|v| v.record_error(field, value));
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        self.delegate(|v| v.record_debug(field, value));
    }
}

/// The fields of a request's span and of a tool's span under
/// [`init_logging`](crate::init_logging)'s text logger, kept as values and written as
/// [`PlainFields`] would write them only when an event inside the span is logged: most
/// requests log nothing inside their spans, and formatting their fields when they open was
/// most of what the spans cost.
///
/// The span itself is then made without fields (see `observe::trace`); [`DeferredFields`],
/// the layer under the text formatter, writes them into the formatter's
/// `FormattedFields` before the first event inside the span is formatted.
pub(crate) struct Deferred {
    what: DeferredSpan,
    /// The JSON-RPC code of the error response, once answered with one (a tool error: `None`
    /// in [`Deferred::failed`]).
    error: Option<Option<i64>>,
    /// Whether the fields are in the formatter's `FormattedFields` already.
    written: bool,
    /// For a request's span: the running tool (a [`Scope::Tool`]) written after its fields
    /// for the event being formatted, and where in the `FormattedFields` that text starts.
    shown: Option<(usize, ToolMark)>,
}

enum DeferredSpan {
    Request {
        /// Borrowed for the protocol's common methods: no copy.
        method: std::borrow::Cow<'static, str>,
        id: crate::protocol::RequestId,
        session: Option<std::sync::Arc<str>>,
        peer: Option<std::net::IpAddr>,
        /// The params of a call, read, or get, read for its target only when written.
        params: Option<Box<serde_json::value::RawValue>>,
    },
    Tool {
        name: &'static str,
    },
}

impl Deferred {
    pub(crate) fn request(
        method: &str,
        id: crate::protocol::RequestId,
        session: Option<std::sync::Arc<str>>,
        peer: Option<std::net::IpAddr>,
        params: Option<&serde_json::value::RawValue>,
    ) -> Deferred {
        let params = match method {
            "tools/call" | "prompts/get" | "resources/read" => params.map(ToOwned::to_owned),
            _ => None,
        };
        Deferred {
            what: DeferredSpan::Request {
                method: method_name(method),
                id,
                session,
                peer,
                params,
            },
            error: None,
            written: false,
            shown: None,
        }
    }

    pub(crate) fn tool(name: &'static str) -> Deferred {
        Deferred {
            what: DeferredSpan::Tool { name },
            error: None,
            written: false,
            shown: None,
        }
    }

    /// The fields, as [`PlainFields`] writes those of the span made with all of them (in the
    /// order of `observe::trace`'s spans), then the error's as recorded later.
    fn write(&self, out: &mut String) {
        let mut w = FieldWriter { out, first: true };
        match &self.what {
            DeferredSpan::Request {
                method,
                id,
                session,
                peer,
                params,
            } => {
                w.str("mcp.method.name", method);
                w.display("jsonrpc.request.id", id);
                if let Some(session) = session {
                    w.str("mcp.session.id", session);
                }
                w.str(
                    "network.transport",
                    if peer.is_some() { "tcp" } else { "pipe" },
                );
                if let Some(peer) = peer {
                    w.display("client.address", peer);
                }
                let peek = super::trace::peek(method, params.as_deref(), false);
                let (tool, prompt, uri) = super::trace::targets(method, &peek);
                if let Some(tool) = tool {
                    w.str("gen_ai.operation.name", "execute_tool");
                    w.str("gen_ai.tool.name", tool);
                }
                if let Some(prompt) = prompt {
                    w.str("gen_ai.prompt.name", prompt);
                }
                if let Some(uri) = uri {
                    w.str("mcp.resource.uri", uri);
                }
            }
            DeferredSpan::Tool { name } => {
                w.str("gen_ai.operation.name", "execute_tool");
                w.str("gen_ai.tool.name", name);
            }
        }
        if let Some(code) = self.error {
            self.write_error(&mut w, code);
        }
    }

    /// What a failure records: `error.type` and, for a request, `rpc.response.status_code`.
    fn write_error(&self, w: &mut FieldWriter<'_>, code: Option<i64>) {
        let code = match code {
            Some(code) => code.to_string(),
            None => "tool_error".to_string(),
        };
        w.str("error.type", &code);
        if let DeferredSpan::Request { .. } = self.what {
            w.str("rpc.response.status_code", &code);
        }
    }
}

/// `method`, borrowed when it is one of the methods most requests are.
fn method_name(method: &str) -> std::borrow::Cow<'static, str> {
    const COMMON: [&str; 8] = [
        "tools/call",
        "tools/list",
        "resources/read",
        "resources/list",
        "prompts/get",
        "prompts/list",
        "initialize",
        "ping",
    ];
    match COMMON.iter().find(|m| **m == method) {
        Some(m) => std::borrow::Cow::Borrowed(m),
        None => std::borrow::Cow::Owned(method.to_owned()),
    }
}

/// Fields as `PlainFields` writes them: `name="text"` (escaped as `Debug` when not plain),
/// `name=value` for displayed values, separated by spaces.
struct FieldWriter<'a> {
    out: &'a mut String,
    first: bool,
}

impl FieldWriter<'_> {
    fn pad(&mut self) {
        if !self.first {
            self.out.push(' ');
        }
        self.first = false;
    }

    fn str(&mut self, name: &str, value: &str) {
        use std::fmt::Write as _;
        self.pad();
        self.out.push_str(name);
        if value.bytes().all(plain) {
            self.out.push_str("=\"");
            self.out.push_str(value);
            self.out.push('"');
        } else {
            let _ = write!(self.out, "={value:?}");
        }
    }

    fn display(&mut self, name: &str, value: &dyn std::fmt::Display) {
        use std::fmt::Write as _;
        self.pad();
        let _ = write!(self.out, "{name}={value}");
    }
}

/// Records a deferred span's failure (`code`: a JSON-RPC error's; `None`: a tool error): into
/// its [`Deferred`] fields, or after the fields already written.
pub(crate) fn defer_error(span: &tracing::Span, code: Option<i64>) {
    with_deferred(span, |deferred, formatted| {
        if deferred.written {
            if let Some(formatted) = formatted {
                if let Some((at, _)) = deferred.shown.take() {
                    formatted.fields.truncate(at);
                }
                let mut w = FieldWriter {
                    first: formatted.fields.is_empty(),
                    out: &mut formatted.fields,
                };
                deferred.write_error(&mut w, code);
            }
        } else {
            deferred.error = Some(code);
        }
    });
}

thread_local! {
    /// The [`Deferred`] fields of the span being made, for [`DeferredFields`] to take into
    /// its registry entry as it is made.
    static HANDOFF: std::cell::Cell<Option<Deferred>> = const { std::cell::Cell::new(None) };
    /// Whether this thread runs inside a deferred request span, and which tool it runs.
    static SCOPE: std::cell::Cell<Scope> = const { std::cell::Cell::new(Scope::Outside) };
}

/// Makes a span without fields (with `make`) whose fields are `fields`: the
/// [`DeferredFields`] layer takes them from this thread as the span is made, without a
/// look-up of the registry through the layers.
pub(crate) fn deferred_span(
    fields: Deferred,
    make: impl FnOnce() -> tracing::Span,
) -> tracing::Span {
    HANDOFF.set(Some(fields));
    let span = make();
    // Not taken if the span is disabled.
    drop(HANDOFF.take());
    span
}

/// Where this thread runs, as the text logger writes it: a tool run inside a deferred
/// request span has no span of its own (nothing but the text logger would read it), and is
/// written as the span it would have been, `mcp.tool{…}`, after the request span's fields.
#[derive(Clone, Copy)]
pub(crate) enum Scope {
    /// Not inside a deferred request span (or not known to be).
    Outside,
    /// Inside a deferred request span, no tool of it running.
    Request,
    /// Running this tool of the innermost deferred request span.
    Tool(ToolMark),
}

/// A running tool, as written after its request span's fields.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct ToolMark {
    pub(crate) name: &'static str,
    /// As [`Deferred::error`].
    pub(crate) error: Option<Option<i64>>,
}

/// The scope this thread runs in.
pub(crate) fn scope() -> Scope {
    SCOPE.get()
}

/// Runs `f` in `scope`, restoring the scope before (even when `f` panics).
pub(crate) fn in_scope<R>(scope: Scope, f: impl FnOnce() -> R) -> R {
    let _restore = enter_scope(scope);
    f()
}

/// Enters `scope` until the guard drops.
pub(crate) fn enter_scope(scope: Scope) -> ScopeGuard {
    ScopeGuard(SCOPE.replace(scope))
}

/// Restores the scope it replaced when dropped.
pub(crate) struct ScopeGuard(Scope);

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        SCOPE.set(self.0);
    }
}

type Formatted = tracing_subscriber::fmt::FormattedFields<PlainFields>;

fn with_deferred(span: &tracing::Span, f: impl FnOnce(&mut Deferred, Option<&mut Formatted>)) {
    use tracing_subscriber::registry::{LookupSpan as _, SpanData as _};
    span.with_subscriber(|(id, dispatch)| {
        if let Some(registry) = dispatch.downcast_ref::<tracing_subscriber::Registry>()
            && let Some(data) = registry.span_data(id)
        {
            let mut ext = data.extensions_mut();
            let Some(mut deferred) = ext.remove::<Deferred>() else {
                return;
            };
            f(&mut deferred, ext.get_mut::<Formatted>());
            ext.insert(deferred);
        }
    });
}

/// Whether the current subscriber is [`init_logging`](crate::init_logging)'s text logger,
/// which writes a request span's fields from its [`Deferred`] values.
pub(crate) fn defers_fields() -> bool {
    tracing::dispatcher::get_default(|d| d.is::<DeferredFields>())
}

/// The layer under [`init_logging`](crate::init_logging)'s text formatter that writes the
/// [`Deferred`] fields of the spans an event is in before the formatter writes the event.
#[derive(Clone, Copy, Default)]
pub(crate) struct DeferredFields;

impl<S> tracing_subscriber::Layer<S> for DeferredFields
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        _: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if let Some(fields) = HANDOFF.take()
            && let Some(span) = ctx.span(id)
        {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: tracing_subscriber::layer::Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        // The running tool goes with the innermost request span.
        let mut tool = match SCOPE.get() {
            Scope::Tool(mark) => Some(mark),
            _ => None,
        };
        for span in scope {
            let mut ext = span.extensions_mut();
            let (fresh, shown, want) = match ext.get_mut::<Deferred>() {
                Some(deferred) => {
                    let want = match deferred.what {
                        DeferredSpan::Request { .. } => tool.take(),
                        DeferredSpan::Tool { .. } => None,
                    };
                    let fresh = (!deferred.written).then(|| {
                        deferred.written = true;
                        let mut fields = String::with_capacity(160);
                        deferred.write(&mut fields);
                        fields
                    });
                    let shown = deferred.shown.take();
                    if fresh.is_none() && shown.map(|(_, mark)| mark) == want {
                        deferred.shown = shown;
                        continue;
                    }
                    (fresh, shown, want)
                }
                None => continue,
            };
            if ext.get_mut::<Formatted>().is_none() {
                ext.insert(Formatted::new(String::new()));
            }
            let Some(formatted) = ext.get_mut::<Formatted>() else {
                continue;
            };
            if let Some((at, _)) = shown {
                formatted.fields.truncate(at);
            }
            if let Some(mut fields) = fresh {
                // Fields recorded since the span opened come after the deferred ones.
                if !formatted.fields.is_empty() {
                    fields.push(' ');
                    fields.push_str(&formatted.fields);
                }
                formatted.fields = fields;
            }
            let shown = want.map(|mark| {
                let at = formatted.fields.len();
                formatted.fields.push_str("}:mcp.tool{");
                let tool = Deferred {
                    error: mark.error,
                    ..Deferred::tool(mark.name)
                };
                tool.write(&mut formatted.fields);
                (at, mark)
            });
            if let Some(deferred) = ext.get_mut::<Deferred>() {
                deferred.shown = shown;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// What `tracing-subscriber`'s layer writes, for comparison.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// The line `tracing-subscriber` writes for `line` (as the access log was written before it
    /// was formatted here), and the line formatted here.
    fn both(line: &AccessLine<'_>, json: bool) -> (String, String) {
        use tracing_subscriber::prelude::*;
        let captured = Captured::default();
        let layer = if json {
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(true)
                .with_span_list(true)
                .with_writer(captured.clone())
                .boxed()
        } else {
            tracing_subscriber::fmt::layer()
                .with_writer(captured.clone())
                .with_ansi(false)
                .with_target(false)
                .boxed()
        };
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(
                target: ACCESS_TARGET,
                method = %line.method,
                rpc = ?Escaped(line.rpc),
                tool = ?Escaped(line.tool),
                session = line.session,
                status = line.status,
                sse = line.sse,
                micros = line.micros,
                caller = ?Escaped(line.caller),
                "request"
            )
        });
        let theirs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let mut ours = Vec::new();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        line.format(&mut ours, &civil(now.as_secs()), now.subsec_micros(), json);
        (theirs, String::from_utf8(ours).unwrap())
    }

    fn lines() -> Vec<AccessLine<'static>> {
        let line = |rpc, tool, session, caller| AccessLine {
            method: "POST",
            rpc,
            tool,
            session,
            status: 200,
            sse: false,
            micros: 1234,
            caller,
        };
        vec![
            line("tools/call", "add", "0123abcd", "-"),
            AccessLine {
                method: "GET",
                status: 404,
                sse: true,
                micros: 0,
                ..line("-", "-", "-", "alice@example.com")
            },
            // Client text with quotes, spaces, control characters, escape sequences, and
            // more than a log line quotes.
            line(
                "forged\n\u{1b}[31mline \"x\"",
                "a\\b\tc\u{202e}",
                "-",
                "sub with \"quotes\"",
            ),
            line("tools/call", &*"é".repeat(300).leak(), "-", "-"),
        ]
    }

    #[test]
    fn the_text_line_is_what_the_fmt_layer_writes() {
        for line in lines() {
            let (theirs, ours) = both(&line, false);
            // Same but for the timestamp (`2026-12-02T17:12:03.123456Z`, 27 bytes).
            assert_eq!(theirs.len(), ours.len(), "{theirs}{ours}");
            assert_eq!(theirs[27..], ours[27..], "{theirs}{ours}");
            assert!(
                ours.ends_with('\n') && ours.matches('\n').count() == 1,
                "{ours}"
            );
            assert!(!ours.contains('\u{1b}'), "{ours}");
        }
    }

    #[test]
    fn the_json_line_is_what_the_json_layer_writes() {
        for line in lines() {
            let (theirs, ours) = both(&line, true);
            let mut theirs: serde_json::Value = serde_json::from_str(&theirs).unwrap();
            let mut ours: serde_json::Value = serde_json::from_str(&ours).unwrap();
            let stamp = ours["timestamp"].take();
            assert!(theirs["timestamp"].take().is_string());
            assert_eq!(theirs, ours);
            let stamp = stamp.as_str().unwrap();
            assert!(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_secs()
                    > 0
            );
            assert_eq!(stamp.len(), 27, "{stamp}");
        }
    }

    #[test]
    fn plain_fields_are_written_as_the_default_fields() {
        use tracing_subscriber::prelude::*;
        let run = |plain: bool| {
            let captured = Captured::default();
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(captured.clone())
                .with_ansi(false)
                .with_target(false)
                .without_time();
            let layer = if plain {
                layer.fmt_fields(PlainFields).boxed()
            } else {
                layer.boxed()
            };
            tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
                let err = std::io::Error::other("disk \"full\"");
                let span = tracing::info_span!(
                    "mcp.request",
                    mcp.method.name = "tools/call",
                    jsonrpc.request.id = %7,
                    mcp.session.id = Some("0123abcd"),
                    absent = Option::<&str>::None,
                    later = tracing::field::Empty,
                    n = -3i64,
                    ok = true,
                    r#type = "raw",
                    text = "two\nlines \"quoted\" é",
                    ratio = 0.5,
                );
                span.record("later", 42u64);
                let _in = span.enter();
                let inner = tracing::info_span!("mcp.tool", gen_ai.tool.name = "add");
                let _in2 = inner.enter();
                tracing::info!(
                    word = "otter",
                    count = 2u64,
                    error = &err as &dyn std::error::Error,
                    "found \u{1b}[31m it"
                );
                tracing::warn!("just a message");
            });
            String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
        };
        let (theirs, ours) = (run(false), run(true));
        assert_eq!(theirs, ours);
        assert!(
            ours.contains(
                r#"mcp.method.name="tools/call" jsonrpc.request.id=7 mcp.session.id="0123abcd""#
            ),
            "{ours}"
        );
    }

    /// What the text logger writes for requests' spans, with their fields deferred
    /// (`DeferredFields` under the formatter) or not.
    fn request_lines(deferred: bool) -> String {
        use crate::middleware::Origin;
        use crate::observe::trace;
        use crate::protocol::RequestId;
        use tracing_subscriber::prelude::*;
        let captured = Captured::default();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(captured.clone())
            .with_ansi(false)
            .with_target(false)
            .without_time()
            .fmt_fields(PlainFields);
        let subscriber = tracing_subscriber::registry()
            .with(deferred.then_some(DeferredFields))
            .with(layer);
        tracing::subscriber::with_default(subscriber, || {
            assert_eq!(defers_fields(), deferred);
            let origin = |id, session: Option<&str>, peer: Option<&str>| Origin {
                id,
                session_id: session.map(Into::into),
                peer_addr: peer.map(|p| p.parse().unwrap()),
                started: std::time::Instant::now(),
                principal: crate::Principal::anonymous(),
            };
            let params = serde_json::value::RawValue::from_string(
                r#"{"name":"add \"x\"","arguments":{"a":1}}"#.to_string(),
            )
            .unwrap();
            // A tool call: an event inside the tool's span, then the error, then an event;
            // with the request entered as dispatch enters it (a deferred request's tools
            // then have no span of their own) or as a plain span.
            for dispatched in [false, true] {
                let o = origin(
                    RequestId::Number(7),
                    Some("0123abcd"),
                    Some("127.0.0.1:5000"),
                );
                let span = trace::request_span(&o, "tools/call", Some(&params)).unwrap();
                assert_eq!(
                    span.span
                        .metadata()
                        .unwrap()
                        .fields()
                        .iter()
                        .next()
                        .is_none(),
                    deferred
                );
                let inside = || {
                    let tool = trace::tool_span("add").unwrap();
                    assert_eq!(tool.span().is_none(), deferred && dispatched);
                    tool.in_scope(|| tracing::warn!(n = 1, "inside"));
                    // The handler's own span, inside the tool's.
                    tool.in_scope(|| {
                        tracing::info_span!("handler", word = "otter")
                            .in_scope(|| tracing::warn!("in the handler"))
                    });
                    tracing::warn!("between");
                    trace::tool_failed(&tool, None);
                    tool.in_scope(|| tracing::warn!("tool failed"));
                    // The error before any event inside.
                    let tool = trace::tool_span("add").unwrap();
                    trace::tool_failed(&tool, Some(-32603));
                    tool.in_scope(|| tracing::warn!("tool erred"));
                };
                if dispatched {
                    trace::in_request(&span, inside);
                } else {
                    span.span.in_scope(inside);
                }
                trace::request_failed(&span, -32602);
                span.span.in_scope(|| tracing::warn!("after"));
                drop(span);
            }
            // The error before any event; no session, no peer, a string id with a quote.
            let o = origin(RequestId::String("a\"b\nc".into()), None, None);
            let span = trace::request_span(&o, "forged\nmethod", None).unwrap();
            trace::request_failed(&span, -32601);
            span.span.in_scope(|| tracing::warn!("failed"));
            // Nothing inside: nothing written.
            let o = origin(RequestId::Number(8), None, Some("[::1]:9"));
            let span = trace::request_span(&o, "resources/read", None).unwrap();
            drop(span);
            let span = trace::request_span(&o, "ping", None).unwrap();
            span.span.in_scope(|| tracing::warn!("pong"));
        });
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn deferred_request_fields_are_written_as_the_span_fields() {
        let (eager, deferred) = (request_lines(false), request_lines(true));
        assert_eq!(eager, deferred);
        assert!(
            deferred.contains(
                "mcp.request{mcp.method.name=\"tools/call\" jsonrpc.request.id=7 \
                 mcp.session.id=\"0123abcd\" network.transport=\"tcp\" \
                 client.address=127.0.0.1 gen_ai.operation.name=\"execute_tool\" \
                 gen_ai.tool.name=\"add \\\"x\\\"\"}:mcp.tool{"
            ),
            "{deferred}"
        );
        assert!(
            deferred.contains(r#"error.type="-32602" rpc.response.status_code="-32602"}: after"#),
            "{deferred}"
        );
        assert!(
            deferred.contains(
                r#"mcp.tool{gen_ai.operation.name="execute_tool" gen_ai.tool.name="add" error.type="tool_error"}: tool failed"#
            ),
            "{deferred}"
        );
        assert!(
            deferred.contains(r#"gen_ai.tool.name="add" error.type="-32603"}: tool erred"#),
            "{deferred}"
        );
        assert!(
            deferred.contains(
                r#"gen_ai.tool.name="add \"x\""}:mcp.tool{gen_ai.operation.name="execute_tool" gen_ai.tool.name="add"}:handler{word="otter"}: in the handler"#
            ),
            "{deferred}"
        );
        assert!(
            deferred.contains(r#"gen_ai.tool.name="add \"x\""}: between"#),
            "{deferred}"
        );
        assert_eq!(deferred.lines().count(), 14, "{deferred}");
        // Both ways of entering the request write the same lines.
        let lines: Vec<&str> = deferred.lines().collect();
        assert_eq!(lines[..6], lines[6..12], "{deferred}");
    }

    #[test]
    fn timestamps_are_rfc_3339_utc() {
        assert_eq!(&civil(0), b"1970-01-01T00:00:00.");
        assert_eq!(&civil(951_782_400), b"2000-02-29T00:00:00.");
        assert_eq!(&civil(1_798_761_599), b"2026-12-31T23:59:59.");
        let mut out = Vec::new();
        stamp(&mut out, &civil(1_798_761_599), 42);
        assert_eq!(out, b"2026-12-31T23:59:59.000042Z");
    }
}
