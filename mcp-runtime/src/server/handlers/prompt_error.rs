//! `PromptError`: why a prompt could not be rendered, as the request's error.

use std::fmt::{self, Display};

/// Why a prompt could not be rendered; return it as the `Err` of a prompt function's
/// `Result` to choose the request's error.
///
/// [`PromptError::invalid`] and [`PromptError::not_found`] are the client's fault and answer
/// `-32602` (invalid params, as the specification answers a prompt it does not know);
/// [`PromptError::new`], and any other error type, is the server's: `-32603` with the
/// prompt's name. Any `std::error::Error` converts into the latter with `?`.
///
/// ```rust,standalone_crate
/// use mcp_runtime::prelude::*;
///
/// /// Discuss a note.
/// #[prompt]
/// fn discuss(name: String) -> Result<String, PromptError> {
///     match name.as_str() {
///         "" => Err(PromptError::invalid("`name` is empty")),
///         "todo" => Ok("Let us talk about the todo list.".into()),
///         other => Err(PromptError::not_found(format!("no note named `{other}`"))),
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> anyhow::Result<()> {
/// let client = Client::connect(Server::new("notes")).await?;
/// let e = client
///     .get_prompt("discuss", &[("name".to_string(), "groceries".to_string())].into())
///     .await
///     .unwrap_err();
/// assert_eq!(e.rpc().unwrap().code, -32602);
/// assert_eq!(e.rpc().unwrap().message, "no note named `groceries`");
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PromptError {
    pub(crate) kind: PromptErrorKind,
    pub(crate) message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PromptErrorKind {
    NotFound,
    Invalid,
    Internal,
}

impl PromptError {
    /// The server failed (internal error, `-32603`, with the prompt's name).
    pub fn new(message: impl Display) -> Self {
        PromptError {
            kind: PromptErrorKind::Internal,
            message: message.to_string(),
        }
    }

    /// What the arguments name does not exist (`-32602`, with this message).
    pub fn not_found(message: impl Display) -> Self {
        PromptError {
            kind: PromptErrorKind::NotFound,
            message: message.to_string(),
        }
    }

    /// The arguments are not ones the prompt accepts (`-32602`, with this message).
    pub fn invalid(message: impl Display) -> Self {
        PromptError {
            kind: PromptErrorKind::Invalid,
            message: message.to_string(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl<E: std::error::Error> From<E> for PromptError {
    fn from(e: E) -> Self {
        PromptError::new(crate::server::handlers::call::ToolError::from(e))
    }
}

impl Display for PromptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for PromptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PromptError({:?}, {:?})", self.kind, self.message)
    }
}
