//! Client calls for resources, templates, prompts and completion.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Client, ClientError};
use crate::protocol::{
    ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, Prompt,
    ReadResourceResult, Resource, ResourceContents, ResourceTemplate,
};
use crate::server::{Completion, GetPromptResult};

fn cursor_params(cursor: Option<&str>) -> Value {
    match cursor {
        Some(c) => json!({ "cursor": c }),
        None => json!({}),
    }
}

/// Follows `nextCursor` until the last page.
async fn all_pages<P, T, F, Fut>(
    mut fetch: F,
    split: impl Fn(P) -> (Vec<T>, Option<String>),
) -> Result<Vec<T>, ClientError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<P, ClientError>>,
{
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let (items, next) = split(fetch(cursor).await?);
        all.extend(items);
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(all),
        }
    }
}

impl Client {
    /// One page of `resources/list`.
    pub async fn list_resources(
        &self,
        cursor: Option<&str>,
    ) -> Result<ListResourcesResult, ClientError> {
        self.request("resources/list", &cursor_params(cursor)).await
    }

    /// Every resource, following cursors.
    pub async fn list_all_resources(&self) -> Result<Vec<Resource>, ClientError> {
        all_pages(
            |c| async move { self.list_resources(c.as_deref()).await },
            |p: ListResourcesResult| (p.resources, p.next_cursor),
        )
        .await
    }

    /// One page of `resources/templates/list`.
    pub async fn list_resource_templates(
        &self,
        cursor: Option<&str>,
    ) -> Result<ListResourceTemplatesResult, ClientError> {
        self.request("resources/templates/list", &cursor_params(cursor))
            .await
    }

    /// Every resource template, following cursors.
    pub async fn list_all_resource_templates(&self) -> Result<Vec<ResourceTemplate>, ClientError> {
        all_pages(
            |c| async move { self.list_resource_templates(c.as_deref()).await },
            |p: ListResourceTemplatesResult| (p.resource_templates, p.next_cursor),
        )
        .await
    }

    /// Reads a resource.
    pub async fn read_resource(&self, uri: &str) -> Result<Vec<ResourceContents>, ClientError> {
        let r: ReadResourceResult = self
            .request("resources/read", &json!({ "uri": uri }))
            .await?;
        Ok(r.contents)
    }

    /// Subscribes to updates of a resource; they arrive as `notifications/resources/updated`
    /// through [`Client::next_notification`].
    pub async fn subscribe(&self, uri: &str) -> Result<(), ClientError> {
        let _: Value = self
            .request("resources/subscribe", &json!({ "uri": uri }))
            .await?;
        Ok(())
    }

    /// Ends a subscription.
    pub async fn unsubscribe(&self, uri: &str) -> Result<(), ClientError> {
        let _: Value = self
            .request("resources/unsubscribe", &json!({ "uri": uri }))
            .await?;
        Ok(())
    }

    /// One page of `prompts/list`.
    pub async fn list_prompts(
        &self,
        cursor: Option<&str>,
    ) -> Result<ListPromptsResult, ClientError> {
        self.request("prompts/list", &cursor_params(cursor)).await
    }

    /// Every prompt, following cursors.
    pub async fn list_all_prompts(&self) -> Result<Vec<Prompt>, ClientError> {
        all_pages(
            |c| async move { self.list_prompts(c.as_deref()).await },
            |p: ListPromptsResult| (p.prompts, p.next_cursor),
        )
        .await
    }

    /// Renders a prompt with these arguments.
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: &HashMap<String, String>,
    ) -> Result<GetPromptResult, ClientError> {
        self.request(
            "prompts/get",
            &json!({ "name": name, "arguments": arguments }),
        )
        .await
    }

    /// Completes a prompt argument.
    pub async fn complete_prompt_argument(
        &self,
        prompt: &str,
        argument: &str,
        value: &str,
        context: &HashMap<String, String>,
    ) -> Result<Completion, ClientError> {
        self.complete(
            json!({ "type": "ref/prompt", "name": prompt }),
            argument,
            value,
            context,
        )
        .await
    }

    /// Completes a variable of a resource template.
    pub async fn complete_template_variable(
        &self,
        template: &str,
        variable: &str,
        value: &str,
        context: &HashMap<String, String>,
    ) -> Result<Completion, ClientError> {
        self.complete(
            json!({ "type": "ref/resource", "uri": template }),
            variable,
            value,
            context,
        )
        .await
    }

    async fn complete(
        &self,
        reference: Value,
        argument: &str,
        value: &str,
        context: &HashMap<String, String>,
    ) -> Result<Completion, ClientError> {
        #[derive(serde::Deserialize)]
        struct CompleteResult {
            completion: Completion,
        }
        let mut params = json!({
            "ref": reference,
            "argument": { "name": argument, "value": value },
        });
        if !context.is_empty() {
            params["context"] = json!({ "arguments": context });
        }
        let r: CompleteResult = self.request("completion/complete", &params).await?;
        Ok(r.completion)
    }
}
