//! Launch options (`--transport` and friends) and `Server::run`.

use std::io::IsTerminal;
use std::time::Duration;

use crate::transport::DEFAULT_MAX_MESSAGE_SIZE;
use crate::transport::http::HttpOptions;
use crate::{Error, Server};

/// How to serve, from the command line and the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchOptions {
    /// The transport.
    pub transport: Transport,
    /// The largest message accepted, in bytes, on every transport (for HTTP it replaces
    /// [`HttpOptions::max_message_size`]).
    pub max_message_size: usize,
    /// How to serve when the transport is [`Transport::Http`].
    pub http: HttpOptions,
    /// Tell clients what a panicking handler said (`--show-panic-details`; see
    /// [`Server::show_panic_details`]).
    pub show_panic_details: bool,
}

/// A transport a server can be launched on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Newline-delimited JSON-RPC on stdin/stdout.
    Stdio,
    /// Streamable HTTP (`--transport http`, or `streamable-http`).
    Http,
}

impl Default for LaunchOptions {
    fn default() -> Self {
        LaunchOptions {
            transport: Transport::Stdio,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            http: HttpOptions::default(),
            show_panic_details: false,
        }
    }
}

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
// Made once at start-up: the size of `Serve` costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum Launch {
    /// Serve with these options.
    Serve(LaunchOptions),
    /// Print the help text and exit.
    Help,
}

/// Every option: its flag, its environment variable, and whether it takes a value.
const OPTIONS: &[(&str, &str, bool)] = &[
    ("--transport", "MCP_TRANSPORT", true),
    ("--max-message-size", "MCP_MAX_MESSAGE_SIZE", true),
    ("--host", "MCP_HOST", true),
    ("--port", "MCP_PORT", true),
    ("--path", "MCP_PATH", true),
    ("--stateless", "MCP_STATELESS", false),
    ("--json-response", "MCP_JSON_RESPONSE", false),
    ("--allowed-origins", "MCP_ALLOWED_ORIGINS", true),
    ("--allowed-hosts", "MCP_ALLOWED_HOSTS", true),
    ("--auth-token", "MCP_AUTH_TOKEN", true),
    ("--session-timeout", "MCP_SESSION_TIMEOUT", true),
    ("--max-sessions", "MCP_MAX_SESSIONS", true),
    ("--sse-retry", "MCP_SSE_RETRY", true),
    ("--sse-close-after", "MCP_SSE_CLOSE_AFTER", true),
    // Hardening against hostile clients.
    ("--show-panic-details", "MCP_SHOW_PANIC_DETAILS", false),
    ("--max-connections", "MCP_MAX_CONNECTIONS", true),
    (
        "--max-connections-per-address",
        "MCP_MAX_CONNECTIONS_PER_ADDRESS",
        true,
    ),
    ("--body-timeout", "MCP_BODY_TIMEOUT", true),
    ("--idle-timeout", "MCP_IDLE_TIMEOUT", true),
    ("--request-timeout", "MCP_REQUEST_TIMEOUT", true),
    (
        "--max-sessions-per-address",
        "MCP_MAX_SESSIONS_PER_ADDRESS",
        true,
    ),
    (
        "--unused-session-timeout",
        "MCP_UNUSED_SESSION_TIMEOUT",
        true,
    ),
    // ---- Identity (issue 21)
    ("--auth-token-file", "MCP_AUTH_TOKEN_FILE", true),
    ("--api-keys", "MCP_API_KEYS", true),
    ("--oauth-issuer", "MCP_OAUTH_ISSUER", true),
    ("--oauth-resource", "MCP_OAUTH_RESOURCE", true),
    ("--oauth-audience", "MCP_OAUTH_AUDIENCE", true),
    ("--oauth-jwks-uri", "MCP_OAUTH_JWKS_URI", true),
    ("--oauth-introspection", "MCP_OAUTH_INTROSPECTION", true),
    ("--oauth-client-id", "MCP_OAUTH_CLIENT_ID", true),
    ("--oauth-client-secret", "MCP_OAUTH_CLIENT_SECRET", true),
    (
        "--oauth-client-secret-file",
        "MCP_OAUTH_CLIENT_SECRET_FILE",
        true,
    ),
    ("--oauth-scopes", "MCP_OAUTH_SCOPES", true),
    // Metrics.
    ("--metrics-addr", "MCP_METRICS_ADDR", true),
    // Scale out (issue 19).
    ("--redis-url", "MCP_REDIS_URL", true),
];

/// Flags whose value is a secret: on the command line, other users of the machine can read
/// it (`ps`), so a warning suggests the environment or a file.
const SECRET_FLAGS: &[(&str, &str)] = &[
    ("--auth-token", "MCP_AUTH_TOKEN or --auth-token-file"),
    (
        "--oauth-client-secret",
        "MCP_OAUTH_CLIENT_SECRET or --oauth-client-secret-file",
    ),
];

/// Warnings for secrets given on the command line (`args` without the program name).
pub(crate) fn secrets_in_argv(args: &[String]) -> Vec<String> {
    let mut warnings = Vec::new();
    for arg in args {
        let flag = arg.split_once('=').map_or(arg.as_str(), |(f, _)| f);
        if let Some((flag, instead)) = SECRET_FLAGS.iter().find(|(f, _)| *f == flag) {
            warnings.push(format!(
                "`{flag}` on the command line can be read by other users of this machine; use {instead}"
            ));
        }
    }
    warnings
}

impl LaunchOptions {
    /// Parses arguments (without the program name) and environment variables; arguments win.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Launch, String> {
        let mut opts = LaunchOptions::default();
        for &(flag, var, _) in OPTIONS {
            if let Some(value) = env(var) {
                opts.set(flag, &value).map_err(|e| format!("{var}: {e}"))?;
            }
        }
        let mut http_flag = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let flag = match flag.as_str() {
                "-h" | "--help" => return Ok(Launch::Help),
                "-t" => "--transport".to_string(),
                _ => flag,
            };
            let Some(&(name, _, takes_value)) = OPTIONS.iter().find(|o| o.0 == flag) else {
                return Err(format!(
                    "unknown option `{flag}`; run with `--help` to see the options"
                ));
            };
            let value = match (takes_value, inline) {
                (_, Some(v)) => v,
                (true, None) => args
                    .next()
                    .ok_or_else(|| format!("`{name}` needs a value"))?,
                (false, None) => "true".to_string(),
            };
            opts.set(name, &value)
                .map_err(|e| format!("`{name}`: {e}"))?;
            if !matches!(
                name,
                "--transport" | "--max-message-size" | "--show-panic-details"
            ) {
                http_flag.get_or_insert(name);
            }
        }
        if let Some(oauth) = &opts.http.oauth
            && oauth.issuer.is_empty()
        {
            return Err(
                "the `--oauth-…` options need `--oauth-issuer`, the authorization server's issuer"
                    .into(),
            );
        }
        if let (Transport::Stdio, Some(flag)) = (opts.transport, http_flag) {
            return Err(format!(
                "`{flag}` is an option of the HTTP transport; add `--transport http`"
            ));
        }
        Ok(Launch::Serve(opts))
    }

    /// Sets one option from its text.
    fn set(&mut self, flag: &str, value: &str) -> Result<(), String> {
        let http = &mut self.http;
        match flag {
            "--transport" => self.transport = parse_transport(value)?,
            "--max-message-size" => self.max_message_size = parse_size(value)?,
            "--host" => http.host = non_empty(value)?,
            "--port" => {
                http.port = value
                    .parse()
                    .map_err(|_| format!("`{value}` is not a port number (0 to 65535)"))?
            }
            "--path" => {
                if !value.starts_with('/') {
                    return Err(format!("`{value}` must start with `/`"));
                }
                http.path = value.to_string();
            }
            "--stateless" => http.stateless = parse_bool(value)?,
            "--json-response" => http.json_response = parse_bool(value)?,
            "--allowed-origins" => http.allowed_origins.extend(list(value)),
            "--allowed-hosts" => http.allowed_hosts.extend(list(value)),
            "--auth-token" => http.auth_token = Some(non_empty(value)?),
            "--session-timeout" => {
                http.session_idle_timeout = Duration::from_secs(parse_positive(value)?)
            }
            "--max-sessions" => http.max_sessions = parse_positive(value)? as usize,
            "--sse-retry" => http.sse_retry = Duration::from_millis(parse_positive(value)?),
            "--sse-close-after" => {
                http.sse_close_after = Some(Duration::from_millis(parse_positive(value)?))
            }
            // Hardening against hostile clients.
            "--show-panic-details" => self.show_panic_details = parse_bool(value)?,
            "--max-connections" => http.max_connections = Some(parse_positive(value)? as usize),
            "--max-connections-per-address" => {
                http.max_connections_per_address = Some(parse_positive(value)? as usize)
            }
            "--body-timeout" => http.body_read_timeout = parse_duration(value)?,
            "--idle-timeout" => http.idle_timeout = parse_duration(value)?,
            "--request-timeout" => http.request_timeout = parse_duration(value)?,
            "--max-sessions-per-address" => {
                http.max_sessions_per_address = Some(parse_positive(value)? as usize)
            }
            "--unused-session-timeout" => http.unused_session_timeout = parse_duration(value)?,
            "--auth-token-file" => http.auth_token = Some(read_secret(value)?),
            "--api-keys" => http.api_keys = Some(non_empty(value)?.into()),
            oauth if oauth.starts_with("--oauth-") => {
                let o = http.oauth.get_or_insert_with(Default::default);
                match oauth {
                    "--oauth-issuer" => o.issuer = non_empty(value)?,
                    "--oauth-resource" => o.resource = Some(non_empty(value)?),
                    "--oauth-audience" => o.extra_audiences.extend(list(value)),
                    "--oauth-jwks-uri" => o.jwks_uri = Some(non_empty(value)?),
                    "--oauth-introspection" => o.introspection_endpoint = Some(non_empty(value)?),
                    "--oauth-client-id" => o.introspection_client_id = Some(non_empty(value)?),
                    "--oauth-client-secret" => {
                        o.introspection_client_secret = Some(non_empty(value)?)
                    }
                    "--oauth-client-secret-file" => {
                        o.introspection_client_secret = Some(read_secret(value)?)
                    }
                    "--oauth-scopes" => o.scopes_supported.extend(list(value)),
                    other => unreachable!("no option {other}"),
                }
            }
            "--metrics-addr" => http.metrics_addr = Some(non_empty(value)?),
            "--redis-url" => http.redis_url = Some(non_empty(value)?),
            other => unreachable!("no option {other}"),
        }
        Ok(())
    }
}

fn parse_transport(s: &str) -> Result<Transport, String> {
    match s {
        "stdio" => Ok(Transport::Stdio),
        "http" | "streamable-http" => Ok(Transport::Http),
        other => Err(format!(
            "unknown transport `{other}`; expected `stdio` or `http`"
        )),
    }
}

fn parse_size(s: &str) -> Result<usize, String> {
    s.parse::<usize>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{s}` is not a positive number of bytes"))
}

fn parse_positive(s: &str) -> Result<u64, String> {
    s.parse::<u64>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{s}` is not a positive whole number"))
}

/// A positive duration: `500ms`, `30s`, `5m`, or a number of seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = number
        .parse()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("`{s}` is not a positive duration (e.g. 500ms, 30s, 5m)"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        _ => Err(format!(
            "`{s}` is not a positive duration (e.g. 500ms, 30s, 5m)"
        )),
    }
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        _ => Err(format!("`{s}` is not a boolean (true or false)")),
    }
}

fn non_empty(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(s.to_string())
    }
}

/// A secret read from a file: its first line, without the line ending.
fn read_secret(path: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
    let secret = text.lines().next().unwrap_or("").trim();
    if secret.is_empty() {
        return Err(format!("`{path}` is empty"));
    }
    Ok(secret.to_string())
}

/// A comma-separated list; empty items are dropped.
fn list(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(str::to_string)
}

fn help(name: &str) -> String {
    format!(
        "{name}: an MCP server\n\n\
         Usage: {name} [OPTIONS]\n\n\
         Options:\n  \
           -t, --transport <stdio|http>   How to serve (default: stdio) [env: MCP_TRANSPORT]\n      \
               --max-message-size <BYTES> Largest message accepted (default: {DEFAULT_MAX_MESSAGE_SIZE}) [env: MCP_MAX_MESSAGE_SIZE]\n      \
               --show-panic-details       Tell clients what a panicking handler said (default: log only) [env: MCP_SHOW_PANIC_DETAILS]\n  \
           -h, --help                     Print this help\n\n\
         Streamable HTTP (with --transport http):\n      \
               --host <ADDRESS>           Address to listen on (default: 127.0.0.1) [env: MCP_HOST]\n      \
               --port <PORT>              Port (default: 8000; 0 picks a free one) [env: MCP_PORT]\n      \
               --path <PATH>              The MCP endpoint (default: /mcp) [env: MCP_PATH]\n      \
               --stateless                No sessions: every POST stands alone [env: MCP_STATELESS]\n      \
               --json-response            Answer with JSON only, never SSE streams [env: MCP_JSON_RESPONSE]\n      \
               --allowed-origins <LIST>   Browser origins allowed besides localhost, comma-separated, or * [env: MCP_ALLOWED_ORIGINS]\n      \
               --allowed-hosts <LIST>     Host headers allowed besides localhost, comma-separated, or * [env: MCP_ALLOWED_HOSTS]\n      \
               --auth-token <TOKEN>       Require `Authorization: Bearer <TOKEN>` [env: MCP_AUTH_TOKEN]\n      \
               --auth-token-file <FILE>   The same, read from a file [env: MCP_AUTH_TOKEN_FILE]\n      \
               --api-keys <FILE>          Accept the API keys of FILE (`mcp-cli keys create`; reloaded on change) [env: MCP_API_KEYS]\n      \
               --session-timeout <SECS>   End sessions idle this long (default: 1800) [env: MCP_SESSION_TIMEOUT]\n      \
               --max-sessions <N>         Most sessions at once (default: 10000) [env: MCP_MAX_SESSIONS]\n      \
               --sse-retry <MS>           Reconnection delay told to clients (default: 1000) [env: MCP_SSE_RETRY]\n      \
               --sse-close-after <MS>     Close SSE connections after this long; clients resume them [env: MCP_SSE_CLOSE_AFTER]\n      \
               --max-connections <N>      Most connections at once (default: the file limit less a reserve) [env: MCP_MAX_CONNECTIONS]\n      \
               --max-connections-per-address <N>\n                                  Most connections from one address (default: a quarter of the above) [env: MCP_MAX_CONNECTIONS_PER_ADDRESS]\n      \
               --body-timeout <DURATION>  A request body must arrive within this (default: 30s; 408 after) [env: MCP_BODY_TIMEOUT]\n      \
               --idle-timeout <DURATION>  Close connections sending no request head this long (default: 30s) [env: MCP_IDLE_TIMEOUT]\n      \
               --request-timeout <DURATION>\n                                  A response must start within this (default: 5m; 503 after) [env: MCP_REQUEST_TIMEOUT]\n      \
               --max-sessions-per-address <N>\n                                  Most sessions of one address (default: a tenth of --max-sessions, at least 100) [env: MCP_MAX_SESSIONS_PER_ADDRESS]\n      \
               --unused-session-timeout <DURATION>\n                                  End sessions that sent nothing after initialize (default: 60s) [env: MCP_UNUSED_SESSION_TIMEOUT]\n\n\
         OAuth 2.1 resource server (with --transport http):\n      \
               --oauth-issuer <URL>       Accept access tokens of this issuer [env: MCP_OAUTH_ISSUER]\n      \
               --oauth-resource <URI>     This server's canonical URI, the tokens' audience (default: the endpoint's URL) [env: MCP_OAUTH_RESOURCE]\n      \
               --oauth-audience <LIST>    Other audiences accepted, comma-separated [env: MCP_OAUTH_AUDIENCE]\n      \
               --oauth-jwks-uri <URL>     The issuer's keys (default: from its metadata) [env: MCP_OAUTH_JWKS_URI]\n      \
               --oauth-introspection <URL> Introspect opaque tokens here (default: from its metadata) [env: MCP_OAUTH_INTROSPECTION]\n      \
               --oauth-client-id <ID>     Introspect as this client [env: MCP_OAUTH_CLIENT_ID]\n      \
               --oauth-client-secret-file <FILE>  Its secret [env: MCP_OAUTH_CLIENT_SECRET]\n      \
               --oauth-scopes <LIST>      Scopes advertised (default: those the tools declare) [env: MCP_OAUTH_SCOPES]\n\n\
         Metrics (with --transport http):\n      \
               --metrics-addr <HOST:PORT> Serve Prometheus metrics at /metrics on this address [env: MCP_METRICS_ADDR]\n\n\
         Replicas (with --transport http; see docs/scale-out.md):\n      \
               --redis-url <URL>          Share sessions, replay and notifications with other replicas through this Redis (feature `redis`) [env: MCP_REDIS_URL]\n\n\
         Logs go to stderr; set RUST_LOG (e.g. RUST_LOG=debug) to change how much.\n"
    )
}

/// Installs a stderr logger unless the program set one; `RUST_LOG` picks the level.
///
/// `MCP_LOG_FORMAT=json` writes one JSON object per line (the event's fields, and those of
/// the request span it happened in). With the `otlp` feature, when the `OTEL_*` variables
/// configure an exporter (`mcp_runtime::observe::otlp`), spans are exported too.
pub fn init_logging() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let filter: Targets = std::env::var("RUST_LOG")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let json = std::env::var("MCP_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // Lines go to a writer thread, which writes them in batches; a burst beyond the bound
    // drops lines (and says how many) rather than holding requests up.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(64 * 1024)
        .thread_name("mcp-log-writer")
        .finish(std::io::BufWriter::with_capacity(
            64 * 1024,
            std::io::stderr(),
        ));
    let layer = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(writer)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            .boxed()
    };
    #[cfg(feature = "otlp")]
    let otel = crate::observe::otlp::configured()
        .then(|| {
            crate::observe::otlp::layer()
                .map_err(|e| eprintln!("traces will not be exported: {e}"))
                .ok()
        })
        .flatten();
    #[cfg(not(feature = "otlp"))]
    let otel: Option<tracing_subscriber::layer::Identity> = None;
    if tracing_subscriber::registry()
        .with(layer)
        .with(otel)
        .with(filter)
        .try_init()
        .is_ok()
    {
        *LOG_WRITER.lock().unwrap_or_else(|e| e.into_inner()) = Some(guard);
    }
}

/// The log writer thread of [`init_logging`], until [`flush_logs`].
static LOG_WRITER: std::sync::Mutex<Option<tracing_appender::non_blocking::WorkerGuard>> =
    std::sync::Mutex::new(None);

/// Writes out the log lines not yet written (when serving ends).
pub(crate) fn flush_logs() {
    drop(LOG_WRITER.lock().unwrap_or_else(|e| e.into_inner()).take());
}

impl Server {
    /// Serves according to the command line and environment (`--transport`, `--help`…).
    ///
    /// A bad option prints a one-line error and exits with code 2.
    pub async fn run(mut self) -> Result<(), Error> {
        let name = self.name().to_string();
        let args: Vec<String> = std::env::args().skip(1).collect();
        self.launch_warnings = secrets_in_argv(&args);
        let launch = LaunchOptions::parse(args, |k| std::env::var(k).ok());
        match launch {
            Ok(Launch::Help) => {
                print!("{}", help(&name));
                Ok(())
            }
            Ok(Launch::Serve(opts)) => self.serve(opts).await,
            Err(e) => {
                eprintln!("{name}: {e}");
                std::process::exit(2);
            }
        }
    }

    /// Serves with explicit options, ignoring the command line.
    ///
    /// A transport compiled out of this build fails at once with
    /// [`Error::FeatureDisabled`], before the lifespans run.
    pub async fn serve(self, opts: LaunchOptions) -> Result<(), Error> {
        opts.transport.available()?;
        // `--metrics-addr` records metrics in a server that was given none.
        #[cfg(feature = "metrics")]
        let this = match (&opts.http.metrics_addr, self.recorded_metrics()) {
            (Some(_), None) => self.metrics(&crate::observe::Metrics::new()),
            _ => self,
        };
        #[cfg(not(feature = "metrics"))]
        let this = self;
        // An OTLP exporter configured by `OTEL_*` gets the request spans.
        #[cfg(feature = "otlp")]
        let this = if crate::observe::otlp::configured() {
            this.traces()
        } else {
            this
        };
        init_logging();
        let served = this.serve_started(opts).await;
        #[cfg(feature = "otlp")]
        crate::observe::otlp::shutdown();
        flush_logs();
        served
    }

    async fn serve_started(mut self, mut opts: LaunchOptions) -> Result<(), Error> {
        self.lend_auth(&mut opts.http);
        let warnings = std::mem::take(&mut self.launch_warnings);
        // Told by the HTTP server only: the secrets they are about are its options.
        let _ = &warnings;
        let server = if opts.show_panic_details {
            self.show_panic_details(true)
        } else {
            self
        };
        let (core, teardown) = server.start().await?;
        match opts.transport {
            #[cfg(feature = "http-server")]
            Transport::Http => {
                let http = HttpOptions {
                    max_message_size: opts.max_message_size,
                    ..opts.http
                };
                serve_http(core, teardown, http, warnings).await
            }
            #[cfg(feature = "stdio")]
            Transport::Stdio => {
                if std::io::stdin().is_terminal() {
                    let exe = std::env::current_exe()
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|_| core.info.name.clone());
                    eprintln!(
                        "{} {}: MCP server on stdio, serving {}.\n\
                         Connect an MCP client by giving it this command: {exe}\n\
                         (or type JSON-RPC messages here, one per line; Ctrl-D quits; --help lists options)",
                        core.info.name,
                        core.info.version,
                        core.summary()
                    );
                }
                let served = crate::transport::stdio::serve(core, opts.max_message_size).await;
                teardown.run().await;
                served
            }
            #[allow(unreachable_patterns)]
            _ => {
                // `available` refused every transport compiled out.
                drop(core);
                teardown.run().await;
                opts.transport.available()
            }
        }
    }

    /// Serves on stdin/stdout.
    #[cfg(feature = "stdio")]
    pub async fn serve_stdio(self) -> Result<(), Error> {
        self.serve(LaunchOptions::default()).await
    }

    /// Serves streamable HTTP with these options, ignoring the command line, until SIGINT or
    /// SIGTERM. See [`HttpServer`](crate::HttpServer) to bind first and learn the address.
    #[cfg(feature = "http-server")]
    pub async fn serve_http(mut self, mut options: HttpOptions) -> Result<(), Error> {
        init_logging();
        self.lend_auth(&mut options);
        let warnings = std::mem::take(&mut self.launch_warnings);
        let (core, teardown) = self.start().await?;
        let served = serve_http(core, teardown, options, warnings).await;
        flush_logs();
        served
    }
}

impl Server {
    /// Gives the HTTP options the authentication the builder was given
    /// ([`Server::api_keys`], [`Server::oauth`]), unless they have their own.
    pub(crate) fn lend_auth(&mut self, options: &mut HttpOptions) {
        if options.api_keys.is_none() {
            options.api_keys = self.api_keys.take();
        }
        if options.oauth.is_none() {
            options.oauth = self.oauth.take();
        }
    }
}

impl Transport {
    /// The cargo feature that serves this transport.
    pub fn feature(self) -> &'static str {
        match self {
            Transport::Stdio => "stdio",
            Transport::Http => "http-server",
        }
    }

    /// Whether this build of the runtime serves this transport; if not, the error names the
    /// feature to enable.
    pub fn available(self) -> Result<(), Error> {
        let built = match self {
            Transport::Stdio => cfg!(feature = "stdio"),
            Transport::Http => cfg!(feature = "http-server"),
        };
        if built {
            return Ok(());
        }
        Err(Error::FeatureDisabled {
            feature: self.feature(),
            what: match self {
                Transport::Stdio => "serving on stdio (`--transport stdio`)",
                Transport::Http => "`--transport http`",
            },
        })
    }
}

#[cfg(feature = "http-server")]
async fn serve_http(
    core: std::sync::Arc<crate::server::ServerCore>,
    teardown: crate::server::Teardown,
    options: HttpOptions,
    warnings: Vec<String>,
) -> Result<(), Error> {
    let (name, version, summary) = (
        core.info.name.clone(),
        core.info.version.clone(),
        core.summary(),
    );
    let server = crate::HttpServer::bind_core(core, teardown, options.clone()).await?;
    let mut notes = Vec::new();
    if options.stateless {
        notes.push("stateless");
    }
    if options.json_response {
        notes.push("JSON responses");
    }
    if options.auth_token.is_some() {
        notes.push("bearer token required");
    }
    if options.api_keys.is_some() {
        notes.push("API keys required");
    }
    if options.oauth.is_some() {
        notes.push("OAuth access tokens required");
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" ({})", notes.join(", "))
    };
    eprintln!(
        "{name} {version}: MCP server on {}{notes}, serving {summary}.",
        server.url()
    );
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    let authenticated =
        options.auth_token.is_some() || options.api_keys.is_some() || options.oauth.is_some();
    if !server.local_addr().ip().is_loopback() && !authenticated {
        tracing::warn!(
            "listening on {} without --auth-token, --api-keys or --oauth-issuer: anyone who can reach this address can call the tools",
            server.local_addr()
        );
    }
    server.run().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Launch, String> {
        LaunchOptions::parse(args.iter().map(|s| s.to_string()), |_| None)
    }

    #[test]
    fn transports_compiled_out_are_refused_with_the_feature_to_enable() {
        for transport in [Transport::Stdio, Transport::Http] {
            let built = match transport {
                Transport::Stdio => cfg!(feature = "stdio"),
                Transport::Http => cfg!(feature = "http-server"),
            };
            match transport.available() {
                Ok(()) => assert!(built, "{transport:?} is not compiled in"),
                Err(e) => {
                    assert!(!built, "{transport:?} is compiled in: {e}");
                    let e = e.to_string();
                    assert!(
                        e.contains(&format!("the `{}` feature", transport.feature())),
                        "{e}"
                    );
                }
            }
        }
    }

    /// `--transport http` in a build without the HTTP server: the error names the feature,
    /// and nothing is served (the lifespans do not even run).
    #[cfg(not(feature = "http-server"))]
    #[tokio::test]
    async fn transport_http_without_the_http_server_names_the_feature() {
        let Ok(Launch::Serve(opts)) = parse(&["--transport", "http", "--port", "0"]) else {
            panic!("the HTTP options still parse")
        };
        let server = Server::new("t").lifespan(|| async { panic!("no lifespan runs") });
        let e = server.serve(opts).await.unwrap_err().to_string();
        assert!(
            e.starts_with("`--transport http` needs the `http-server` feature of mcp-runtime"),
            "{e}"
        );
        assert!(e.contains(r#"features = ["http-server"]"#), "{e}");
    }

    #[test]
    fn parses_flags() {
        assert_eq!(parse(&[]), Ok(Launch::Serve(LaunchOptions::default())));
        assert_eq!(
            parse(&["--transport", "stdio"]),
            Ok(Launch::Serve(LaunchOptions::default()))
        );
        assert_eq!(
            parse(&["--transport=stdio"]),
            Ok(Launch::Serve(LaunchOptions::default()))
        );
        assert_eq!(parse(&["--help"]), Ok(Launch::Help));
        let Ok(Launch::Serve(o)) = parse(&["--max-message-size", "10"]) else {
            panic!()
        };
        assert_eq!(o.max_message_size, 10);
    }

    #[test]
    fn rejects_bad_flags_with_a_fix() {
        let e = parse(&["--transport", "carrier-pigeon"]).unwrap_err();
        assert!(e.contains("unknown transport `carrier-pigeon`"), "{e}");
        let e = parse(&["--frobnicate"]).unwrap_err();
        assert!(e.contains("--help"), "{e}");
        let e = parse(&["--transport"]).unwrap_err();
        assert!(e.contains("needs a value"), "{e}");
        let e = LaunchOptions::parse(Vec::new(), |k| (k == "MCP_TRANSPORT").then(|| "x".into()))
            .unwrap_err();
        assert!(e.starts_with("MCP_TRANSPORT"), "{e}");
    }

    fn serve(args: &[&str], env: &[(&str, &str)]) -> Result<LaunchOptions, String> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match LaunchOptions::parse(args.iter().map(|s| s.to_string()), |k| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })? {
            Launch::Serve(o) => Ok(o),
            Launch::Help => Err("help".into()),
        }
    }

    #[test]
    fn parses_http_flags() {
        let o = serve(
            &[
                "--transport",
                "http",
                "--host=0.0.0.0",
                "--port",
                "9000",
                "--path",
                "/rpc",
                "--stateless",
                "--json-response",
                "--allowed-origins",
                "https://a.example, https://b.example",
                "--allowed-hosts=mcp.internal",
                "--auth-token",
                "t0k",
                "--session-timeout",
                "60",
                "--max-sessions",
                "5",
                "--sse-retry",
                "250",
                "--sse-close-after",
                "2000",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(o.transport, Transport::Http);
        let h = &o.http;
        assert_eq!(
            (h.host.as_str(), h.port, h.path.as_str()),
            ("0.0.0.0", 9000, "/rpc")
        );
        assert!(h.stateless && h.json_response);
        assert_eq!(
            h.allowed_origins,
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(h.allowed_hosts, ["mcp.internal"]);
        assert_eq!(h.auth_token.as_deref(), Some("t0k"));
        assert_eq!(h.session_idle_timeout, Duration::from_secs(60));
        assert_eq!(h.max_sessions, 5);
        assert_eq!(h.sse_retry, Duration::from_millis(250));
        assert_eq!(h.sse_close_after, Some(Duration::from_millis(2000)));
        assert!(!format!("{h:?}").contains("t0k"), "the token is not logged");

        assert_eq!(
            serve(&["-t", "streamable-http"], &[]).unwrap().transport,
            Transport::Http
        );
        let d = serve(&["--transport", "http"], &[]).unwrap();
        assert_eq!(d.http, HttpOptions::default());
        assert_eq!(
            (d.http.host.as_str(), d.http.port, d.http.path.as_str()),
            ("127.0.0.1", 8000, "/mcp")
        );
    }

    #[test]
    fn reads_the_environment_and_lets_flags_win() {
        let env = [
            ("MCP_TRANSPORT", "http"),
            ("MCP_PORT", "7000"),
            ("MCP_STATELESS", "1"),
            ("MCP_AUTH_TOKEN", "from-env"),
            ("MCP_ALLOWED_ORIGINS", "https://x.example"),
        ];
        let o = serve(&["--port", "7001"], &env).unwrap();
        assert_eq!(o.transport, Transport::Http);
        assert_eq!(o.http.port, 7001);
        assert!(o.http.stateless);
        assert_eq!(o.http.auth_token.as_deref(), Some("from-env"));
        assert_eq!(o.http.allowed_origins, ["https://x.example"]);
        let o = serve(&["--stateless=false"], &env).unwrap();
        assert!(!o.http.stateless);
        // HTTP settings in the environment are no error under stdio.
        let o = serve(&[], &[("MCP_PORT", "7000")]).unwrap();
        assert_eq!(o.transport, Transport::Stdio);
    }

    #[test]
    fn parses_identity_flags_and_reads_secrets_from_files() {
        let dir = std::env::temp_dir().join(format!("mcp-run-secrets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let token = dir.join("token");
        std::fs::write(&token, "from-file\n").unwrap();
        let secret = dir.join("secret");
        std::fs::write(&secret, "client-secret").unwrap();
        let o = serve(
            &[
                "-t",
                "http",
                "--auth-token-file",
                token.to_str().unwrap(),
                "--api-keys",
                "keys.jsonl",
                "--oauth-issuer",
                "https://auth.example.com/",
                "--oauth-resource",
                "https://mcp.example.com/mcp",
                "--oauth-audience",
                "api://mcp, other",
                "--oauth-jwks-uri",
                "https://auth.example.com/jwks",
                "--oauth-client-id",
                "mcp",
                "--oauth-client-secret-file",
                secret.to_str().unwrap(),
                "--oauth-scopes",
                "notes:read,notes:write",
            ],
            &[],
        )
        .unwrap();
        let h = &o.http;
        assert_eq!(h.auth_token.as_deref(), Some("from-file"));
        assert_eq!(
            h.api_keys.as_deref(),
            Some(std::path::Path::new("keys.jsonl"))
        );
        let oauth = h.oauth.as_ref().unwrap();
        assert_eq!(oauth.issuer, "https://auth.example.com/");
        assert_eq!(
            oauth.resource.as_deref(),
            Some("https://mcp.example.com/mcp")
        );
        assert_eq!(oauth.extra_audiences, ["api://mcp", "other"]);
        assert_eq!(
            oauth.jwks_uri.as_deref(),
            Some("https://auth.example.com/jwks")
        );
        assert_eq!(
            oauth.introspection_client_secret.as_deref(),
            Some("client-secret")
        );
        assert_eq!(oauth.scopes_supported, ["notes:read", "notes:write"]);
        assert!(
            !format!("{h:?}").contains("client-secret"),
            "secrets are not logged"
        );
        assert!(!format!("{h:?}").contains("from-file"));
        // From the environment too.
        let o = serve(
            &[],
            &[("MCP_TRANSPORT", "http"), ("MCP_API_KEYS", "k.jsonl")],
        )
        .unwrap();
        assert!(o.http.api_keys.is_some());

        let e = serve(&["-t", "http", "--oauth-jwks-uri", "https://x/jwks"], &[]).unwrap_err();
        assert!(e.contains("need `--oauth-issuer`"), "{e}");
        let e = serve(&["-t", "http", "--auth-token-file", "/nonexistent/t"], &[]).unwrap_err();
        assert!(e.contains("cannot read `/nonexistent/t`"), "{e}");
        std::fs::write(&token, "\n").unwrap();
        let e = serve(
            &["-t", "http", "--auth-token-file", token.to_str().unwrap()],
            &[],
        )
        .unwrap_err();
        assert!(e.contains("is empty"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();

        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let w = secrets_in_argv(&args(&[
            "-t",
            "http",
            "--auth-token",
            "x",
            "--oauth-client-secret=y",
        ]));
        assert_eq!(w.len(), 2);
        assert!(
            w[0].contains("MCP_AUTH_TOKEN or --auth-token-file"),
            "{w:?}"
        );
        assert!(secrets_in_argv(&args(&["--auth-token-file", "f"])).is_empty());
    }

    #[test]
    fn rejects_bad_http_flags() {
        let e = serve(&["--port", "9000"], &[]).unwrap_err();
        assert!(
            e.contains("`--port` is an option of the HTTP transport"),
            "{e}"
        );
        let e = serve(&["-t", "http", "--port", "99999"], &[]).unwrap_err();
        assert!(e.contains("not a port number"), "{e}");
        let e = serve(&["-t", "http", "--path", "mcp"], &[]).unwrap_err();
        assert!(e.contains("must start with `/`"), "{e}");
        let e = serve(&["-t", "http", "--stateless=maybe"], &[]).unwrap_err();
        assert!(e.contains("not a boolean"), "{e}");
        let e = serve(&["-t", "http", "--max-sessions", "0"], &[]).unwrap_err();
        assert!(e.contains("positive"), "{e}");
        let e = serve(&[], &[("MCP_PORT", "x")]).unwrap_err();
        assert!(e.starts_with("MCP_PORT"), "{e}");
        let e = serve(&["-t", "http", "--auth-token"], &[]).unwrap_err();
        assert!(e.contains("needs a value"), "{e}");
    }

    #[test]
    fn parses_the_hardening_flags() {
        let o = serve(
            &[
                "-t",
                "http",
                "--max-connections",
                "100",
                "--max-connections-per-address=10",
                "--body-timeout",
                "500ms",
                "--idle-timeout",
                "20",
                "--request-timeout",
                "2m",
                "--max-sessions-per-address",
                "7",
                "--unused-session-timeout",
                "15s",
            ],
            &[],
        )
        .unwrap();
        let h = &o.http;
        assert_eq!(h.max_connections, Some(100));
        assert_eq!(h.max_connections_per_address, Some(10));
        assert_eq!(h.body_read_timeout, Duration::from_millis(500));
        assert_eq!(h.idle_timeout, Duration::from_secs(20));
        assert_eq!(h.request_timeout, Duration::from_secs(120));
        assert_eq!(h.max_sessions_per_address, Some(7));
        assert_eq!(h.unused_session_timeout, Duration::from_secs(15));
        let o = serve(&["--show-panic-details"], &[]).unwrap();
        assert!(o.show_panic_details, "an option of every transport");
        for bad in ["0", "5h", "ms", "-3s"] {
            let e = serve(&["-t", "http", "--body-timeout", bad], &[]).unwrap_err();
            assert!(e.contains("not a positive duration"), "{bad}: {e}");
        }
    }
}
