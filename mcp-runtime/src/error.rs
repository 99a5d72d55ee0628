//! Why a server could not be built, started or served.

/// Any error, as a lifespan's setup may return it: `?` converts every `std::error::Error`
/// (and `anyhow::Error`) into it, and `"text".into()` makes one from a message.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why [`Server::run`](crate::Server::run), [`HttpServer::bind`](crate::HttpServer::bind),
/// [`serve_stream`](crate::transport::serve_stream) and the like failed.
///
/// Every message is whole: it names what went wrong, where, and the cause, so printing the
/// error (or returning it from `main`) says everything; [`source`](std::error::Error::source)
/// is empty, and the cause stays reachable in the variant's fields.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two tools, prompts, resources or resource templates share a name or URI; the message
    /// names both, with where they were declared.
    #[error("{0}")]
    DuplicateName(String),
    /// A resource's URI template is not valid RFC 6570.
    #[error("{0}")]
    InvalidUriTemplate(String),
    /// A tool's input schema cannot be served (not an object, bad `x-mcp-header`s).
    #[error("{0}")]
    InvalidSchema(String),
    /// A lifespan's setup failed, so the server did not start.
    #[error("the server's lifespan setup failed: {0}")]
    Lifespan(BoxError),
    /// The HTTP endpoint path does not start with `/`.
    #[error("the endpoint path `{0}` must start with `/`")]
    InvalidPath(String),
    /// The HTTP server could not listen on its address.
    #[error("cannot listen on {host}:{port}: {error}")]
    Bind {
        /// The address asked for.
        host: String,
        /// The port asked for.
        port: u16,
        /// Why it failed.
        error: std::io::Error,
    },
    /// Reading or writing the transport failed.
    #[error("I/O error while serving: {0}")]
    Io(std::io::Error),
    /// What was asked for is compiled out of this build of `mcp-runtime`.
    #[error(
        "{what} needs the `{feature}` feature of mcp-runtime, which this build leaves out: \
         enable it in Cargo.toml (`mcp-runtime = {{ version = \"…\", features = [\"{feature}\"] }}`)"
    )]
    FeatureDisabled {
        /// The cargo feature, e.g. `http-server`.
        feature: &'static str,
        /// What needed it, e.g. `--transport http`.
        what: &'static str,
    },
    // ---- Identity (issue 21)
    /// Authentication cannot be set up: an API key file that cannot be read, OAuth options
    /// that do not hold together. The message names the file or option.
    #[error("authentication cannot be set up: {0}")]
    Auth(String),
    /// A skills tree cannot be served (skills extension): the message names the file and
    /// the rule it breaks.
    #[error("{0}")]
    Skills(String),
    /// A tool shows an app view (MCP Apps) that the server does not serve.
    #[error("{0}")]
    AppView(String),
    // --- missing state (first-day checks)
    /// A tool, resource or prompt takes a `State<T>` the server was not given; the message
    /// names each item, where it is declared, and the type.
    #[error("{0}")]
    MissingState(String),
    /// An option has a value that cannot work; the message says which and what to do.
    #[error("{0}")]
    InvalidOption(String),
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_fix() {
        let e = Error::FeatureDisabled {
            feature: "http-server",
            what: "`--transport http`",
        };
        assert_eq!(
            e.to_string(),
            "`--transport http` needs the `http-server` feature of mcp-runtime, which this build \
             leaves out: enable it in Cargo.toml (`mcp-runtime = { version = \"…\", features = \
             [\"http-server\"] }`)"
        );
        let e = Error::Lifespan("no database at db:5432".into());
        assert_eq!(
            e.to_string(),
            "the server's lifespan setup failed: no database at db:5432"
        );
        assert!(
            std::error::Error::source(&e).is_none(),
            "the message is whole"
        );
    }
}
