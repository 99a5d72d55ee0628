//! The application's own options, taken off the command line before the runtime reads the
//! rest (`--transport`, `--port`, `--api-keys`, `--redis-url`…).

use std::path::PathBuf;
use std::time::Duration;

/// Where the data lives and how the cache behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppOptions {
    /// `--database-url`: `postgres://…`, or `sqlite://DIR`. Default: SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// `--data-dir`: where the SQLite file is kept.
    pub data_dir: PathBuf,
    /// `--cache-url`: the Redis server of the shared cache. Default: `--redis-url`'s.
    pub cache_url: Option<String>,
    /// `--cache-ttl`: how long a cached record is used.
    pub cache_ttl: Duration,
    /// `--max-content-bytes`: the longest message.
    pub max_content_bytes: usize,
}

/// Each option: flag, environment variable, value name, help.
pub const OPTIONS: &[(&str, &str, &str, &str)] = &[
    (
        "--database-url",
        "CONTEXT_STORE_DATABASE_URL",
        "URL",
        "postgres://user@host:port/db for Postgres, or sqlite://DIR (default: SQLite in --data-dir); prefer the variable when the URL holds a password",
    ),
    (
        "--data-dir",
        "CONTEXT_STORE_DATA_DIR",
        "DIR",
        "Where the SQLite database is kept (default: $XDG_DATA_HOME/context-store, or ~/.local/share/context-store)",
    ),
    (
        "--cache-url",
        "CONTEXT_STORE_CACHE_URL",
        "URL",
        "Redis server of the shared cache, redis://host:port (default: --redis-url's, if given)",
    ),
    (
        "--cache-ttl",
        "CONTEXT_STORE_CACHE_TTL",
        "SECONDS",
        "How long a cached context record is used [default: 60]",
    ),
    (
        "--max-content-bytes",
        "CONTEXT_STORE_MAX_CONTENT_BYTES",
        "BYTES",
        "The longest message content accepted [default: 65536]",
    ),
];

fn default_data_dir(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    if let Some(d) = env("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("context-store");
    }
    if let Some(h) = env("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h).join(".local/share/context-store");
    }
    PathBuf::from("context-store-data")
}

impl AppOptions {
    /// Takes this application's options out of `args` (flags win over the environment) and
    /// returns them with the arguments left for the runtime.
    pub fn parse(
        args: Vec<String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(AppOptions, Vec<String>), String> {
        let mut rest = Vec::new();
        let mut given: Vec<(&'static str, String)> = Vec::new();
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let Some((name, ..)) = OPTIONS.iter().find(|(f, ..)| *f == flag) else {
                rest.push(arg);
                continue;
            };
            let value = match inline {
                Some(v) => v,
                None => it.next().ok_or_else(|| format!("`{name}` needs a value"))?,
            };
            given.push((name, value));
        }
        let value = |flag: &str| -> Option<String> {
            given
                .iter()
                .rev()
                .find(|(f, _)| *f == flag)
                .map(|(_, v)| v.clone())
                .or_else(|| {
                    let (_, var, ..) = OPTIONS.iter().find(|(f, ..)| *f == flag)?;
                    env(var).filter(|v| !v.is_empty())
                })
        };
        let number =
            |flag: &str, default: u64| -> Result<u64, String> {
                match value(flag) {
                    None => Ok(default),
                    Some(v) => v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("`{flag}` must be a positive whole number, not `{v}`")
                    }),
                }
            };
        let options = AppOptions {
            database_url: value("--database-url"),
            data_dir: value("--data-dir")
                .map(PathBuf::from)
                .unwrap_or_else(|| default_data_dir(&env)),
            cache_url: value("--cache-url"),
            cache_ttl: Duration::from_secs(number("--cache-ttl", 60)?),
            max_content_bytes: number("--max-content-bytes", 64 * 1024)? as usize,
        };
        Ok((options, rest))
    }

    /// The help of these options, in the runtime's `--help` layout.
    pub fn help() -> String {
        let mut out = String::from("Context store:\n");
        for (flag, env, value, help) in OPTIONS {
            let left = format!("      {flag} {value}");
            out.push_str(&format!("{left:<33}{help} [env: {env}]\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_flags_are_taken_and_the_rest_left() {
        let args = [
            "--transport",
            "http",
            "--database-url=sqlite:///x",
            "--cache-ttl",
            "5",
        ]
        .map(String::from)
        .to_vec();
        let (o, rest) = AppOptions::parse(args, |_| None).unwrap();
        assert_eq!(rest, ["--transport", "http"]);
        assert_eq!(o.database_url.as_deref(), Some("sqlite:///x"));
        assert_eq!(o.cache_ttl, Duration::from_secs(5));
    }

    #[test]
    fn environment_and_defaults() {
        let env = |k: &str| match k {
            "CONTEXT_STORE_CACHE_URL" => Some("redis://127.0.0.1:1".to_string()),
            "HOME" => Some("/home/u".to_string()),
            _ => None,
        };
        let (o, _) = AppOptions::parse(vec![], env).unwrap();
        assert_eq!(o.cache_url.as_deref(), Some("redis://127.0.0.1:1"));
        assert_eq!(
            o.data_dir,
            PathBuf::from("/home/u/.local/share/context-store")
        );
        assert_eq!(o.max_content_bytes, 65536);
    }

    #[test]
    fn bad_numbers_are_named() {
        let err =
            AppOptions::parse(vec!["--cache-ttl".into(), "soon".into()], |_| None).unwrap_err();
        assert_eq!(
            err,
            "`--cache-ttl` must be a positive whole number, not `soon`"
        );
        let err = AppOptions::parse(vec!["--data-dir".into()], |_| None).unwrap_err();
        assert_eq!(err, "`--data-dir` needs a value");
    }
}
