//! The one table of launch options: each option's flag, `MCP_*` variable, config-file key and
//! help. `--help`, the config file (`--config mcp.toml`), `--print-config` and the reference
//! in docs/deploy.md are all made from it.
//!
//! Precedence, per option: flags > environment (`MCP_*`, or `MCP_*_FILE` naming a file that
//! holds the value) > config file > defaults.

use std::collections::HashMap;

/// Where an option's help is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Section {
    General,
    Http,
    OAuth,
    Metrics,
    Production,
    Replicas,
}

impl Section {
    const ALL: [Section; 6] = [
        Section::General,
        Section::Http,
        Section::OAuth,
        Section::Metrics,
        Section::Production,
        Section::Replicas,
    ];

    fn heading(self) -> &'static str {
        match self {
            Section::General => "Options",
            Section::Http => "Streamable HTTP (with --transport http)",
            Section::OAuth => "OAuth 2.1 resource server (with --transport http)",
            Section::Metrics => "Metrics (with --transport http)",
            Section::Production => "Production (with --transport http)",
            Section::Replicas => "Replicas (with --transport http; see docs/scale-out.md)",
        }
    }
}

/// One launch option.
#[derive(Debug)]
pub(crate) struct Opt {
    /// The long flag, `--name`; the config-file key is the name without `--`.
    pub(crate) flag: &'static str,
    /// A short alias (`-t`).
    pub(crate) short: Option<&'static str>,
    /// Its environment variable.
    pub(crate) env: &'static str,
    /// What its value is (`<PORT>`); `None`: a switch, `true` when given.
    pub(crate) value: Option<&'static str>,
    pub(crate) section: Section,
    /// One line of help (the `--help` column and the reference).
    pub(crate) help: &'static str,
    /// Its value is a secret: redacted by `--print-config`, warned about on the command line.
    pub(crate) secret: bool,
}

impl Opt {
    /// The config-file key.
    pub(crate) fn key(&self) -> &'static str {
        self.flag.trim_start_matches("--")
    }

    pub(crate) fn takes_value(&self) -> bool {
        self.value.is_some()
    }
}

const fn opt(
    flag: &'static str,
    env: &'static str,
    value: Option<&'static str>,
    section: Section,
    help: &'static str,
) -> Opt {
    Opt {
        flag,
        short: None,
        env,
        value,
        section,
        help,
        secret: false,
    }
}

const fn secret(mut o: Opt) -> Opt {
    o.secret = true;
    o
}

use Section::*;

/// Every launch option. Add new ones at the end (the help lists them by section, in this
/// order).
pub(crate) const OPTIONS: &[Opt] = &[
    Opt {
        short: Some("-t"),
        ..opt(
            "--transport",
            "MCP_TRANSPORT",
            Some("<stdio|http>"),
            General,
            "How to serve (default: stdio)",
        )
    },
    opt(
        "--max-message-size",
        "MCP_MAX_MESSAGE_SIZE",
        Some("<BYTES>"),
        General,
        "Largest message accepted (default: 16777216)",
    ),
    opt(
        "--host",
        "MCP_HOST",
        Some("<ADDRESS>"),
        Http,
        "Address to listen on (default: 127.0.0.1)",
    ),
    opt(
        "--port",
        "MCP_PORT",
        Some("<PORT>"),
        Http,
        "Port (default: 8000; 0 picks a free one)",
    ),
    opt(
        "--path",
        "MCP_PATH",
        Some("<PATH>"),
        Http,
        "The MCP endpoint (default: /mcp)",
    ),
    opt(
        "--stateless",
        "MCP_STATELESS",
        None,
        Http,
        "No sessions: every POST stands alone",
    ),
    opt(
        "--json-response",
        "MCP_JSON_RESPONSE",
        None,
        Http,
        "Answer with JSON only, never SSE streams",
    ),
    opt(
        "--allowed-origins",
        "MCP_ALLOWED_ORIGINS",
        Some("<LIST>"),
        Http,
        "Browser origins allowed besides localhost, comma-separated, or *",
    ),
    opt(
        "--allowed-hosts",
        "MCP_ALLOWED_HOSTS",
        Some("<LIST>"),
        Http,
        "Host headers allowed besides localhost, comma-separated, or *",
    ),
    secret(opt(
        "--auth-token",
        "MCP_AUTH_TOKEN",
        Some("<TOKEN>"),
        Http,
        "Require `Authorization: Bearer <TOKEN>`",
    )),
    // ---- Identity (issue 21)
    opt(
        "--auth-token-file",
        "MCP_AUTH_TOKEN_FILE",
        Some("<FILE>"),
        Http,
        "The same, read from a file",
    ),
    opt(
        "--api-keys",
        "MCP_API_KEYS",
        Some("<FILE>"),
        Http,
        "Accept the API keys of FILE (`mcp-cli keys create`; reloaded on change)",
    ),
    opt(
        "--session-timeout",
        "MCP_SESSION_TIMEOUT",
        Some("<SECS>"),
        Http,
        "End sessions idle this long (default: 1800)",
    ),
    opt(
        "--max-sessions",
        "MCP_MAX_SESSIONS",
        Some("<N>"),
        Http,
        "Most sessions at once (default: 10000)",
    ),
    opt(
        "--sse-retry",
        "MCP_SSE_RETRY",
        Some("<MS>"),
        Http,
        "Reconnection delay told to clients (default: 1000)",
    ),
    opt(
        "--sse-close-after",
        "MCP_SSE_CLOSE_AFTER",
        Some("<MS>"),
        Http,
        "Close SSE connections after this long; clients resume them",
    ),
    // Hardening against hostile clients.
    opt(
        "--show-panic-details",
        "MCP_SHOW_PANIC_DETAILS",
        None,
        General,
        "Tell clients what a panicking handler said (default: log only)",
    ),
    opt(
        "--max-connections",
        "MCP_MAX_CONNECTIONS",
        Some("<N>"),
        Http,
        "Most connections at once (default: the file limit less a reserve)",
    ),
    opt(
        "--max-connections-per-address",
        "MCP_MAX_CONNECTIONS_PER_ADDRESS",
        Some("<N>"),
        Http,
        "Most connections from one address (default: a quarter of the above)",
    ),
    opt(
        "--body-timeout",
        "MCP_BODY_TIMEOUT",
        Some("<DURATION>"),
        Http,
        "A request body must arrive within this (default: 30s; 408 after)",
    ),
    opt(
        "--idle-timeout",
        "MCP_IDLE_TIMEOUT",
        Some("<DURATION>"),
        Http,
        "Close connections sending no request head this long (default: 30s)",
    ),
    opt(
        "--request-timeout",
        "MCP_REQUEST_TIMEOUT",
        Some("<DURATION>"),
        Http,
        "A response must start within this (default: 5m; 503 after)",
    ),
    opt(
        "--write-timeout",
        "MCP_WRITE_TIMEOUT",
        Some("<DURATION>"),
        Http,
        "Close a connection whose client reads nothing this long (default: 30s)",
    ),
    opt(
        "--http2-keep-alive",
        "MCP_HTTP2_KEEP_ALIVE",
        Some("<DURATION>"),
        Http,
        "HTTP/2 PING interval; unanswered within --write-timeout closes (default: 60s; 0: off)",
    ),
    opt(
        "--max-sessions-per-address",
        "MCP_MAX_SESSIONS_PER_ADDRESS",
        Some("<N>"),
        Http,
        "Most sessions of one address (default: a tenth of --max-sessions, at least 100)",
    ),
    opt(
        "--unused-session-timeout",
        "MCP_UNUSED_SESSION_TIMEOUT",
        Some("<DURATION>"),
        Http,
        "End sessions that sent nothing after initialize (default: 60s)",
    ),
    opt(
        "--oauth-issuer",
        "MCP_OAUTH_ISSUER",
        Some("<URL>"),
        OAuth,
        "Accept access tokens of this issuer",
    ),
    opt(
        "--oauth-resource",
        "MCP_OAUTH_RESOURCE",
        Some("<URI>"),
        OAuth,
        "This server's canonical URI, the tokens' audience (default: the endpoint's URL)",
    ),
    opt(
        "--oauth-audience",
        "MCP_OAUTH_AUDIENCE",
        Some("<LIST>"),
        OAuth,
        "Other audiences accepted, comma-separated",
    ),
    opt(
        "--oauth-jwks-uri",
        "MCP_OAUTH_JWKS_URI",
        Some("<URL>"),
        OAuth,
        "The issuer's keys (default: from its metadata)",
    ),
    opt(
        "--oauth-introspection",
        "MCP_OAUTH_INTROSPECTION",
        Some("<URL>"),
        OAuth,
        "Introspect opaque tokens here (default: from its metadata)",
    ),
    opt(
        "--oauth-client-id",
        "MCP_OAUTH_CLIENT_ID",
        Some("<ID>"),
        OAuth,
        "Introspect as this client",
    ),
    secret(opt(
        "--oauth-client-secret",
        "MCP_OAUTH_CLIENT_SECRET",
        Some("<SECRET>"),
        OAuth,
        "Its secret (better from the variable or a file)",
    )),
    opt(
        "--oauth-client-secret-file",
        "MCP_OAUTH_CLIENT_SECRET_FILE",
        Some("<FILE>"),
        OAuth,
        "Its secret, read from a file",
    ),
    opt(
        "--oauth-scopes",
        "MCP_OAUTH_SCOPES",
        Some("<LIST>"),
        OAuth,
        "Scopes advertised (default: those the tools declare)",
    ),
    // Metrics.
    opt(
        "--metrics-addr",
        "MCP_METRICS_ADDR",
        Some("<HOST:PORT>"),
        Metrics,
        "Serve Prometheus metrics at /metrics on this address",
    ),
    // ---- Production (issue 20)
    opt(
        "--config",
        "MCP_CONFIG",
        Some("<FILE>"),
        General,
        "Read options from this TOML file (keys: the long flags without --)",
    ),
    opt(
        "--print-config",
        "MCP_PRINT_CONFIG",
        None,
        General,
        "Print the effective configuration (secrets redacted) and exit",
    ),
    opt(
        "--drain-timeout",
        "MCP_DRAIN_TIMEOUT",
        Some("<DURATION>"),
        Production,
        "On SIGTERM, how long calls in flight may take to finish (default: 10s)",
    ),
    opt(
        "--tls-cert",
        "MCP_TLS_CERT",
        Some("<FILE>"),
        Production,
        "Serve HTTPS with this PEM certificate chain (reloaded on change; h2 and http/1.1)",
    ),
    opt(
        "--tls-key",
        "MCP_TLS_KEY",
        Some("<FILE>"),
        Production,
        "The certificate's PEM private key",
    ),
    opt(
        "--legacy-sse",
        "MCP_LEGACY_SSE",
        None,
        Production,
        "Also serve the deprecated HTTP+SSE transport of 2024-11-05 (GET /sse, POST /messages)",
    ),
    // ---- Scale out (issue 19). The URL may carry the Redis password.
    secret(opt(
        "--redis-url",
        "MCP_REDIS_URL",
        Some("<URL>"),
        Replicas,
        "Share sessions, replay and notifications with other replicas through this Redis (feature `redis`)",
    )),
];

/// The option a flag (long, or short alias) names.
pub(crate) fn find(flag: &str) -> Option<&'static Opt> {
    OPTIONS
        .iter()
        .find(|o| o.flag == flag || o.short == Some(flag))
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Flag,
    Env(String),
    File(String),
}

impl Source {
    fn describe(&self, o: &Opt) -> String {
        match self {
            Source::Flag => o.flag.to_string(),
            Source::Env(var) => var.clone(),
            Source::File(path) => format!("{path}: `{}`", o.key()),
        }
    }
}

/// The values each option got from one source, in the order given.
pub(crate) type Values = HashMap<&'static str, Vec<String>>;

/// Reads a config file: a TOML table whose keys are the long flags without `--`; values are
/// strings, integers, booleans, or arrays of them (for lists).
pub(crate) fn read_file(path: &str) -> Result<Values, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{path}`: {e}"))?;
    parse_file(path, &text)
}

#[cfg(feature = "config-file")]
fn parse_file(path: &str, text: &str) -> Result<Values, String> {
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("`{path}` is not valid TOML: {e}"))?;
    let mut values = Values::new();
    for (key, value) in table {
        let Some(o) = OPTIONS
            .iter()
            .find(|o| o.key() == key && !matches!(o.flag, "--config" | "--print-config"))
        else {
            return Err(format!(
                "`{path}`: unknown option `{key}`; the keys are the long options without `--` (e.g. `port = 8000`), see `--help`"
            ));
        };
        let text = |v: &toml::Value| -> Result<String, String> {
            match v {
                toml::Value::String(s) => Ok(s.clone()),
                toml::Value::Integer(n) => Ok(n.to_string()),
                toml::Value::Boolean(b) => Ok(b.to_string()),
                _ => Err(format!(
                    "`{path}`: `{key}` must be a string, a whole number or a boolean"
                )),
            }
        };
        let items = match &value {
            toml::Value::Array(items) => {
                let parts = items.iter().map(text).collect::<Result<Vec<_>, _>>()?;
                vec![parts.join(",")]
            }
            other => vec![text(other)?],
        };
        values.insert(o.flag, items);
    }
    Ok(values)
}

#[cfg(not(feature = "config-file"))]
fn parse_file(path: &str, _: &str) -> Result<Values, String> {
    Err(format!(
        "`--config {path}` needs the `config-file` feature of mcp-runtime"
    ))
}

/// The values of the environment: `MCP_*`, and `MCP_*_FILE` for an option without a `_FILE`
/// option of its own (the file's first line is the value, as for Docker and Kubernetes
/// secrets).
pub(crate) fn from_env(env: &impl Fn(&str) -> Option<String>) -> Result<Values, String> {
    let mut values = Values::new();
    // The `_FILE` twin's name, written into one buffer: a `format!` per option was a third of
    // the instructions this takes, and this runs before a stdio server's first answer.
    let mut file_var = String::with_capacity(48);
    for o in OPTIONS {
        let direct = env(o.env);
        file_var.clear();
        file_var.push_str(o.env);
        file_var.push_str("_FILE");
        // The twin, unless an option has that name itself (compared only when the variable
        // is set: it rarely is, and there are some forty options to compare it with).
        let by_file = if o.takes_value() {
            env(&file_var).filter(|_| !OPTIONS.iter().any(|x| x.env == file_var))
        } else {
            None
        };
        let value = match (direct, by_file) {
            (Some(_), Some(_)) => {
                return Err(format!("{} and {file_var} are both set; keep one", o.env));
            }
            (Some(v), None) => v,
            (None, Some(path)) => {
                super::run::read_secret(&path).map_err(|e| format!("{file_var}: {e}"))?
            }
            (None, None) => continue,
        };
        values.insert(o.flag, vec![value]);
    }
    Ok(values)
}

/// Which source each option's value is taken from: the first of flags, environment, file
/// that has it.
pub(crate) fn resolve<'a>(
    flags: &'a Values,
    env: &'a Values,
    file: Option<(&'a str, &'a Values)>,
) -> Vec<(&'static Opt, Source, &'a [String])> {
    let mut chosen = Vec::new();
    for o in OPTIONS {
        if let Some(v) = flags.get(o.flag) {
            chosen.push((o, Source::Flag, v.as_slice()));
        } else if let Some(v) = env.get(o.flag) {
            chosen.push((o, Source::Env(o.env.to_string()), v.as_slice()));
        } else if let Some((path, values)) = file
            && let Some(v) = values.get(o.flag)
        {
            chosen.push((o, Source::File(path.to_string()), v.as_slice()));
        }
    }
    chosen
}

/// The prefix of an error about a value from `source`.
pub(crate) fn error_prefix(o: &Opt, source: &Source) -> String {
    match source {
        Source::Flag => format!("`{}`", o.flag),
        other => other.describe(o),
    }
}

/// `--print-config`: the effective configuration, as a config file, secrets redacted.
pub(crate) fn print(chosen: &[(&'static Opt, Source, &[String])]) -> String {
    let mut out = String::from(
        "# The effective configuration (flags > MCP_* variables > config file > defaults);\n\
         # usable as a config file (--config). Options not set show their default.\n",
    );
    for o in OPTIONS {
        if matches!(o.flag, "--config" | "--print-config") {
            continue;
        }
        match chosen.iter().find(|(c, _, _)| c.flag == o.flag) {
            Some((_, source, values)) => {
                let value = values.join(",");
                let shown = if o.secret {
                    "\"<redacted>\"".to_string()
                } else if o.value.is_none() {
                    match value.to_ascii_lowercase().as_str() {
                        "1" | "true" | "yes" | "on" => "true".into(),
                        _ => "false".into(),
                    }
                } else if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
                    value
                } else {
                    toml_string(&value)
                };
                out.push_str(&format!(
                    "{} = {shown}  # from {}\n",
                    o.key(),
                    source.describe(o)
                ));
            }
            None => {
                let default = default_of(o.help).unwrap_or("not set");
                out.push_str(&format!("# {}: {default}\n", o.key()));
            }
        }
    }
    out
}

/// The `(default: …)` of a help line.
fn default_of(help: &str) -> Option<&str> {
    let start = help.find("(default: ")? + "(default: ".len();
    let end = help[start..].find(')')? + start;
    Some(&help[start..end])
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Column of the help text in `--help`.
const HELP_COLUMN: usize = 33;

/// `--help`.
pub(crate) fn help(name: &str) -> String {
    let mut out = format!("{name}: an MCP server\n\nUsage: {name} [OPTIONS]\n");
    for section in Section::ALL {
        out.push_str(&format!("\n{}:\n", section.heading()));
        for o in OPTIONS.iter().filter(|o| o.section == section) {
            let left = match o.short {
                Some(s) => format!("  {s}, {}", o.flag),
                None => format!("      {}", o.flag),
            };
            let left = match o.value {
                Some(v) => format!("{left} {v}"),
                None => left,
            };
            let text = format!("{} [env: {}]", o.help, o.env);
            line(&mut out, &left, &text);
        }
        if section == General {
            line(&mut out, "  -h, --help", "Print this help");
        }
    }
    out.push_str("\nLogs go to stderr; set RUST_LOG (e.g. RUST_LOG=debug) to change how much.\n");
    out
}

fn line(out: &mut String, left: &str, text: &str) {
    if left.len() < HELP_COLUMN {
        out.push_str(&format!("{left:<HELP_COLUMN$}{text}\n"));
    } else {
        out.push_str(&format!("{left}\n{:HELP_COLUMN$}{text}\n", ""));
    }
}

/// The configuration reference of docs/deploy.md: every option, by section.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn reference() -> String {
    let mut out = String::new();
    for section in Section::ALL {
        out.push_str(&format!(
            "\n### {}\n\n| Flag | Variable | Config key | |\n|---|---|---|---|\n",
            section.heading()
        ));
        for o in OPTIONS.iter().filter(|o| o.section == section) {
            let flag = match (o.short, o.value) {
                (Some(s), Some(v)) => format!("`{s}`, `{} {v}`", o.flag),
                (None, Some(v)) => format!("`{} {v}`", o.flag),
                (_, None) => format!("`{}`", o.flag),
            };
            let key = if matches!(o.flag, "--config" | "--print-config") {
                "-".to_string()
            } else {
                format!("`{}`", o.key())
            };
            let help = o.help.replace('|', "\\|");
            let secret = if o.secret {
                " Secret: redacted by `--print-config`; prefer the variable, its `_FILE` form or a file."
            } else {
                ""
            };
            out.push_str(&format!(
                "| {flag} | `{}` | {key} | {help}.{secret} |\n",
                o.env
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_is_unique_and_documented() {
        for (i, o) in OPTIONS.iter().enumerate() {
            assert!(
                o.flag.starts_with("--") && o.env.starts_with("MCP_"),
                "{o:?}"
            );
            assert!(!o.help.is_empty() && !o.help.ends_with('.'), "{o:?}");
            for other in &OPTIONS[i + 1..] {
                assert_ne!(o.flag, other.flag);
                assert_ne!(o.env, other.env);
            }
        }
        assert!(help("x").contains(&crate::transport::DEFAULT_MAX_MESSAGE_SIZE.to_string()));
    }

    /// The reference in docs/deploy.md is the table's: regenerate it with
    /// `UPDATE_DOCS=1 cargo test -p mcp-runtime --lib config::tests`.
    #[test]
    fn the_reference_in_docs_matches_the_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/deploy.md");
        let doc = std::fs::read_to_string(path).expect("docs/deploy.md");
        let (start, end) = ("<!-- options:start -->\n", "<!-- options:end -->");
        let from = doc.find(start).expect("the start marker") + start.len();
        let to = doc.find(end).expect("the end marker");
        let reference = reference();
        if std::env::var_os("UPDATE_DOCS").is_some() {
            let updated = format!("{}{reference}\n{}", &doc[..from], &doc[to..]);
            std::fs::write(path, updated).unwrap();
            return;
        }
        assert_eq!(
            &doc[from..to],
            format!("{reference}\n"),
            "docs/deploy.md's option reference is out of date: run \
             `UPDATE_DOCS=1 cargo test -p mcp-runtime --lib config::tests`"
        );
    }

    #[test]
    fn help_wraps_long_flags() {
        let h = help("srv");
        assert!(h.contains(
            "  -t, --transport <stdio|http>   How to serve (default: stdio) [env: MCP_TRANSPORT]\n"
        ));
        assert!(h.contains(
            "      --max-connections-per-address <N>\n                                 Most connections"
        ));
        assert!(h.contains("  -h, --help                     Print this help\n"));
    }

    #[test]
    fn toml_strings_are_escaped() {
        assert_eq!(toml_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(toml_string("x\ny"), r#""x\u000Ay""#);
        assert_eq!(
            default_of("Port (default: 8000; 0 picks)"),
            Some("8000; 0 picks")
        );
        assert_eq!(default_of("none"), None);
    }
}
