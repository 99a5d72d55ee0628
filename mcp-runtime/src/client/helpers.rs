//! Client shorthands for what tests do most: a tool call with its progress, a resource's text.

use serde_json::{Value, json};

use super::{Client, ClientError, Notification};
use crate::protocol::{CallToolResult, ResourceContents};

/// What [`Client::call_tool_with_progress`] heard while the call ran.
#[derive(Debug, Clone)]
pub struct ProgressCall {
    /// The call's result.
    pub result: CallToolResult,
    /// The `params` of each `notifications/progress` for this call, in order (`progress`,
    /// `total`, `message`, `progressToken`).
    pub progress: Vec<Value>,
    /// The other notifications that arrived meanwhile, in order, so that none is lost.
    pub notifications: Vec<Notification>,
}

impl Client {
    /// Calls a tool with a `progressToken`, and gathers the progress it reports until its
    /// result arrives.
    ///
    /// ```rust,standalone_crate
    /// use mcp_runtime::prelude::*;
    ///
    /// /// Count to three.
    /// #[tool]
    /// async fn count(ctx: Context) -> &'static str {
    ///     for i in 1..=3 {
    ///         ctx.progress(i as f64, Some(3.0), None).await;
    ///     }
    ///     "done"
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> anyhow::Result<()> {
    /// let client = Client::connect(Server::new("counter")).await?;
    /// let call = client.call_tool_with_progress("count", serde_json::json!({})).await?;
    /// assert_eq!(call.progress.len(), 3);
    /// assert_eq!(call.progress[2]["progress"], 3.0);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn call_tool_with_progress(
        &self,
        name: &str,
        arguments: Value,
    ) -> Result<ProgressCall, ClientError> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let token = format!("progress-{n}");
        let params = json!({
            "name": name,
            "arguments": arguments,
            "_meta": {"progressToken": token},
        });
        let (_, answer) = self.start_request("tools/call", &params).await?;
        tokio::pin!(answer);
        let (mut progress, mut notifications) = (Vec::new(), Vec::new());
        let mut keep = |n: Notification| {
            if n.method == "notifications/progress" && n.params["progressToken"] == token {
                progress.push(n.params);
            } else {
                notifications.push(n);
            }
        };
        let value = loop {
            tokio::select! {
                biased;
                note = self.next_notification() => match note {
                    Some(n) => keep(n),
                    None => break answer.await?,
                },
                value = &mut answer => break value?,
            }
        };
        // Progress sent just before the result may still be queued: take what is there.
        while let Ok(Some(n)) =
            tokio::time::timeout(std::time::Duration::ZERO, self.next_notification()).await
        {
            keep(n);
        }
        let result = serde_json::from_value(value)
            .map_err(|e| ClientError::Protocol(format!("tools/call result: {e}")))?;
        Ok(ProgressCall {
            result,
            progress,
            notifications,
        })
    }

    /// Reads a resource and returns its text: the text contents joined, in order. Fails when
    /// the resource has binary contents only.
    pub async fn read_resource_text(&self, uri: &str) -> Result<String, ClientError> {
        let contents = self.read_resource(uri).await?;
        let texts: Vec<&str> = contents
            .iter()
            .filter_map(|c| match c {
                ResourceContents::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect();
        if texts.is_empty() && !contents.is_empty() {
            return Err(ClientError::Usage(format!(
                "`{uri}` has binary contents only; read them with `read_resource`"
            )));
        }
        Ok(texts.concat())
    }
}
