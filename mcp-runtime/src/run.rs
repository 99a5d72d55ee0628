//! Launch options (`--transport` and friends) and `Server::run`.

use std::io::IsTerminal;
use std::time::Duration;

use crate::config;
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
    // ---- Production (issue 20)
    /// Print the effective configuration (`--print-config`; secrets redacted) and exit.
    PrintConfig(String),
}

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
    /// The text of `--help` for a server named `name`: every launch option, its variable and
    /// default. For an application that parses options of its own before
    /// [`LaunchOptions::parse`] and prints them beside these.
    ///
    /// ```
    /// let help = mcp_runtime::LaunchOptions::help("notes");
    /// assert!(help.starts_with("notes: an MCP server"));
    /// assert!(help.contains("--transport"));
    /// ```
    pub fn help(name: &str) -> String {
        config::help(name)
    }

    /// Parses arguments (without the program name), environment variables and the config
    /// file they name (`--config`, `MCP_CONFIG`). For each option the first of these that
    /// has it wins: flags, the environment (`MCP_*`, or `MCP_*_FILE` naming a file that holds
    /// the value), the config file; the defaults come last.
    pub fn parse(
        args: impl IntoIterator<Item = String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Launch, String> {
        let mut flags = config::Values::new();
        let mut http_flag = None;
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            if matches!(flag.as_str(), "-h" | "--help") {
                return Ok(Launch::Help);
            }
            let Some(option) = config::find(&flag) else {
                return Err(format!(
                    "unknown option `{flag}`; run with `--help` to see the options"
                ));
            };
            let name = option.flag;
            let value = match (option.takes_value(), inline) {
                (_, Some(v)) => v,
                (true, None) => args
                    .next()
                    .ok_or_else(|| format!("`{name}` needs a value"))?,
                (false, None) => "true".to_string(),
            };
            flags.entry(name).or_default().push(value);
            if option.section != config::Section::General {
                http_flag.get_or_insert(name);
            }
        }
        let from_env = config::from_env(&env)?;
        let path = flags
            .get("--config")
            .or_else(|| from_env.get("--config"))
            .and_then(|v| v.last().cloned());
        let file = match &path {
            Some(path) => Some(config::read_file(path)?),
            None => None,
        };
        let chosen = config::resolve(&flags, &from_env, path.as_deref().zip(file.as_ref()));
        let mut opts = LaunchOptions::default();
        let mut print = false;
        for (option, source, values) in &chosen {
            let prefix = || config::error_prefix(option, source);
            for value in values.iter() {
                match option.flag {
                    "--config" => {}
                    "--print-config" => {
                        print = parse_bool(value).map_err(|e| format!("{}: {e}", prefix()))?
                    }
                    flag => opts
                        .set(flag, value)
                        .map_err(|e| format!("{}: {e}", prefix()))?,
                }
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
        if print {
            return Ok(Launch::PrintConfig(config::print(&chosen)));
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
            "--write-timeout" => http.write_timeout = parse_duration(value)?,
            "--http2-keep-alive" => {
                http.http2_keep_alive = if value.trim() == "0" {
                    Duration::ZERO
                } else {
                    parse_duration(value)?
                }
            }
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
            // ---- Production (issue 20)
            "--drain-timeout" => http.shutdown_timeout = parse_duration(value)?,
            "--tls-cert" => http.tls_cert = Some(non_empty(value)?.into()),
            "--tls-key" => http.tls_key = Some(non_empty(value)?.into()),
            "--legacy-sse" => http.legacy_sse = parse_bool(value)?,
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
pub(crate) fn read_secret(path: &str) -> Result<String, String> {
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
    // Lines go to a bounded buffer that a thread of its own writes out in batches; a burst
    // beyond the bound drops lines (and says how many) rather than holding requests up.
    let writer = crate::observe::log::SinkWriter;
    let ansi = !json && std::io::stderr().is_terminal();
    let layer = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(writer)
            .boxed()
    } else if ansi {
        tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(true)
            .with_target(false)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_ansi(false)
            .with_target(false)
            .fmt_fields(crate::observe::log::PlainFields)
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
    // One stack of layers on the registry rather than one `with` per layer: each layer added
    // with `with` looks the registry up through the layers under it whenever a span closes.
    let deferred = (!json && !ansi).then_some(crate::observe::log::DeferredFields);
    let layers =
        tracing_subscriber::Layer::<tracing_subscriber::Registry>::and_then(deferred, layer)
            .and_then(otel)
            .and_then(filter);
    if tracing_subscriber::registry()
        .with(layers)
        .try_init()
        .is_ok()
    {
        crate::observe::log::format_access_log_as(json, ansi);
        LOGGING_INSTALLED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    if LOGGING_INSTALLED.load(std::sync::atomic::Ordering::Relaxed) {
        crate::observe::log::start();
    }
}

/// Whether [`init_logging`] installed its subscriber (whose lines [`flush_logs`] writes out).
static LOGGING_INSTALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Writes out the log lines not yet written (when serving ends).
pub(crate) fn flush_logs() {
    crate::observe::log::stop();
}

impl Server {
    /// Serves according to the command line and environment (`--transport`, `--help`…).
    ///
    /// A bad option prints a one-line error and exits with code 2.
    pub async fn run(mut self) -> Result<(), Error> {
        let name = self.name().to_string();
        let args: Vec<String> = std::env::args().skip(1).collect();
        self.launch_warnings = secrets_in_argv(&args);
        // The options' variables all start with `MCP_`: one pass over the environment takes
        // them, where a `getenv` per option (twice, with the `_FILE` twin) scanned it some
        // eighty times before a stdio server's first answer.
        let env: Vec<(String, String)> = std::env::vars_os()
            .filter(|(k, _)| k.as_encoded_bytes().starts_with(b"MCP_"))
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect();
        let launch = LaunchOptions::parse(args, |k| {
            env.iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
        });
        match launch {
            Ok(Launch::Help) => {
                print!("{}", config::help(&name));
                Ok(())
            }
            Ok(Launch::Serve(opts)) => self.serve(opts).await,
            Ok(Launch::PrintConfig(text)) => {
                print!("{text}");
                Ok(())
            }
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
        // ---- Production (issue 20)
        options
            .readiness
            .extend(std::mem::take(&mut self.readiness));
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
            Launch::PrintConfig(_) => Err("print-config".into()),
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
                "--write-timeout",
                "3s",
                "--http2-keep-alive",
                "0",
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
        assert_eq!(h.write_timeout, Duration::from_secs(3));
        assert_eq!(h.http2_keep_alive, Duration::ZERO);
        let o = serve(&["--show-panic-details"], &[]).unwrap();
        assert!(o.show_panic_details, "an option of every transport");
        for bad in ["0", "5h", "ms", "-3s"] {
            let e = serve(&["-t", "http", "--body-timeout", bad], &[]).unwrap_err();
            assert!(e.contains("not a positive duration"), "{bad}: {e}");
        }
    }

    // ---- Production (issue 20)
    fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mcp-run-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    // Config files are read with the `config-file` feature.
    #[cfg(feature = "config-file")]
    #[test]
    fn precedence_is_flags_then_environment_then_file_then_defaults() {
        let file = temp_file(
            "precedence.toml",
            r#"
transport = "http"
port = 7000
host = "0.0.0.0"
path = "/from-file"
stateless = true
allowed-origins = ["https://file.example", "https://other.example"]
drain-timeout = "45s"
"#,
        );
        let file = file.to_str().unwrap();
        // The file alone.
        let o = serve(&["--config", file], &[]).unwrap();
        assert_eq!(o.transport, Transport::Http);
        assert_eq!(
            (o.http.host.as_str(), o.http.port, o.http.path.as_str()),
            ("0.0.0.0", 7000, "/from-file")
        );
        assert!(o.http.stateless);
        assert_eq!(
            o.http.allowed_origins,
            ["https://file.example", "https://other.example"]
        );
        assert_eq!(o.http.shutdown_timeout, Duration::from_secs(45));
        // A default the file does not set.
        assert_eq!(o.http.max_sessions, 10_000);
        // The environment beats the file (MCP_CONFIG names it too); flags beat both; a list
        // from a higher source replaces the lower one's.
        let env = [
            ("MCP_CONFIG", file),
            ("MCP_PORT", "7001"),
            ("MCP_PATH", "/from-env"),
            ("MCP_ALLOWED_ORIGINS", "https://env.example"),
        ];
        let o = serve(&["--port", "7002", "--stateless=false"], &env).unwrap();
        assert_eq!(o.http.port, 7002, "flag");
        assert_eq!(o.http.path, "/from-env", "environment");
        assert_eq!(o.http.host, "0.0.0.0", "file");
        assert!(!o.http.stateless, "flag");
        assert_eq!(o.http.allowed_origins, ["https://env.example"]);
        // A flag given twice adds to its list.
        let o = serve(
            &[
                "--config",
                file,
                "--allowed-origins",
                "https://a.example",
                "--allowed-origins=https://b.example",
            ],
            &[],
        )
        .unwrap();
        assert_eq!(
            o.http.allowed_origins,
            ["https://a.example", "https://b.example"]
        );
    }

    #[cfg(not(feature = "config-file"))]
    #[test]
    fn without_the_feature_a_config_file_is_refused_naming_it() {
        let file = temp_file("featureless.toml", "port = 8000\n");
        let e = serve(&["--config", file.to_str().unwrap()], &[]).unwrap_err();
        assert!(e.contains("needs the `config-file` feature"), "{e}");
    }

    // Config files are read with the `config-file` feature.
    #[cfg(feature = "config-file")]
    #[test]
    fn bad_config_files_name_the_file_and_the_key() {
        let e = serve(&["--config", "/nonexistent/mcp.toml"], &[]).unwrap_err();
        assert!(e.contains("cannot read `/nonexistent/mcp.toml`"), "{e}");
        let bad = temp_file("unknown.toml", "prot = 8000\n");
        let e = serve(&["--config", bad.to_str().unwrap()], &[]).unwrap_err();
        assert!(e.contains("unknown option `prot`"), "{e}");
        assert!(e.contains("e.g. `port = 8000`"), "{e}");
        let bad = temp_file("syntax.toml", "port = \n");
        let e = serve(&["--config", bad.to_str().unwrap()], &[]).unwrap_err();
        assert!(e.contains("is not valid TOML"), "{e}");
        let bad = temp_file("value.toml", "transport = \"http\"\nport = 99999\n");
        let e = serve(&["--config", bad.to_str().unwrap()], &[]).unwrap_err();
        assert!(
            e.contains("value.toml: `port`: `99999` is not a port number"),
            "{e}"
        );
        let bad = temp_file("float.toml", "port = 1.5\n");
        let e = serve(&["--config", bad.to_str().unwrap()], &[]).unwrap_err();
        assert!(e.contains("must be a string"), "{e}");
    }

    #[test]
    fn secrets_come_from_files_named_by_file_variables() {
        let secret = temp_file("client-secret", "s3cr3t\n");
        let secret = secret.to_str().unwrap();
        let o = serve(
            &["-t", "http", "--oauth-issuer", "https://auth.example.com/"],
            &[("MCP_OAUTH_CLIENT_SECRET_FILE", secret)],
        )
        .unwrap();
        let oauth = o.http.oauth.unwrap();
        assert_eq!(oauth.introspection_client_secret.as_deref(), Some("s3cr3t"));
        // Any option's `_FILE` variable: here the port, as Docker and Kubernetes mount it.
        let port = temp_file("port", "9123\n");
        let o = serve(
            &["-t", "http"],
            &[("MCP_PORT_FILE", port.to_str().unwrap())],
        )
        .unwrap();
        assert_eq!(o.http.port, 9123);
        let e = serve(
            &["-t", "http"],
            &[("MCP_PORT_FILE", "/nonexistent/p"), ("MCP_PORT", "1")],
        )
        .unwrap_err();
        assert!(e.contains("MCP_PORT and MCP_PORT_FILE are both set"), "{e}");
        let e = serve(&["-t", "http"], &[("MCP_PORT_FILE", "/nonexistent/p")]).unwrap_err();
        assert!(e.starts_with("MCP_PORT_FILE: cannot read"), "{e}");
    }

    // Config files are read with the `config-file` feature.
    #[cfg(feature = "config-file")]
    #[test]
    fn print_config_shows_sources_redacts_secrets_and_reads_back() {
        let file = temp_file(
            "print.toml",
            "transport = \"http\"\nport = 7000\nauth-token = \"file-token\"\n",
        );
        let env = [("MCP_ALLOWED_ORIGINS", "https://a.example,https://b.example")];
        let args = [
            "--config",
            file.to_str().unwrap(),
            "--print-config",
            "--stateless",
        ];
        let Launch::PrintConfig(text) =
            LaunchOptions::parse(args.iter().map(|s| s.to_string()), |k| {
                env.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            })
            .unwrap()
        else {
            panic!("--print-config")
        };
        assert!(!text.contains("file-token"), "{text}");
        assert!(
            text.contains("auth-token = \"<redacted>\"  # from "),
            "{text}"
        );
        assert!(text.contains("port = 7000  # from "), "{text}");
        assert!(
            text.contains("stateless = true  # from --stateless"),
            "{text}"
        );
        assert!(
            text.contains(
                "allowed-origins = \"https://a.example,https://b.example\"  # from MCP_ALLOWED_ORIGINS"
            ),
            "{text}"
        );
        assert!(text.contains("# max-sessions: 10000\n"), "{text}");
        assert!(text.contains("# metrics-addr: not set\n"), "{text}");
        // It is a config file: read back, it gives the same options (the secret aside).
        let back = temp_file("back.toml", &text);
        let again = serve(&["--config", back.to_str().unwrap()], &[]).unwrap();
        let Launch::Serve(mut first) = LaunchOptions::parse(
            args.iter()
                .filter(|a| **a != "--print-config")
                .map(|s| s.to_string()),
            |k| {
                env.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            },
        )
        .unwrap() else {
            panic!()
        };
        first.http.auth_token = Some("<redacted>".into());
        assert_eq!(again, first);
    }
}
