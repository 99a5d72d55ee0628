//! Dispatch of the resource, prompt and completion methods.

use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

use super::completion::{Completion, CompletionContext, CompletionRequest};
use super::prompt::{GetPromptResult, PromptGet};
use super::resource::{ResourceEntry, ResourceErrorKind, ResourceRead};
use super::session::{Outbound, Page, Reply, Session, parse_params, run_handler};
use super::uri_template::Bindings;
use crate::protocol::{
    CompleteParams, CompletionReference, ErrorObject, GetPromptParams, RequestId, ResourceContents,
    ResourceParams, code, encode_error, encode_result,
};

#[derive(Serialize)]
struct ReadResult {
    contents: Vec<ResourceContents>,
}

#[derive(Serialize)]
struct CompleteResult {
    completion: Completion,
}

/// The protocol's "resource not found" error.
fn not_found(uri: &str, message: String) -> ErrorObject {
    ErrorObject::new(code::RESOURCE_NOT_FOUND, message).with_data(serde_json::json!({ "uri": uri }))
}

impl Session {
    pub(crate) fn list_resources(&self, params: Option<&RawValue>) -> Result<Page, ErrorObject> {
        let table = self.core.resources.load();
        self.page(params, "resources", table.live(), |e, v| e.listing(v))
    }

    pub(crate) fn list_resource_templates(
        &self,
        params: Option<&RawValue>,
    ) -> Result<Page, ErrorObject> {
        let table = self.core.templates.load();
        self.page(params, "resourceTemplates", table.live(), |e, v| {
            e.listing(v)
        })
    }

    pub(crate) fn list_prompts(&self, params: Option<&RawValue>) -> Result<Page, ErrorObject> {
        let table = self.core.prompts.load();
        self.page(params, "prompts", table.live(), |e, v| e.listing(v))
    }

    pub(crate) fn subscribe(&self, params: Option<&RawValue>, on: bool) -> Result<(), ErrorObject> {
        let p: ResourceParams = parse_params(params)?;
        let mut subs = self.subscriptions.lock().unwrap_or_else(|e| e.into_inner());
        if on {
            subs.insert(p.uri);
        } else {
            subs.remove(&p.uri);
        }
        Ok(())
    }

    /// The resource `uri` names: a fixed one, or else the first template that matches it,
    /// with the variables it binds.
    pub(crate) fn find_resource(&self, uri: &str) -> Option<(Arc<ResourceEntry>, Bindings)> {
        match self.core.resources.get(uri) {
            Some(entry) => Some((entry, Vec::new())),
            None => self.core.templates.load().live().iter().find_map(|t| {
                let bindings = t.template.as_ref()?.match_uri(uri)?;
                Some((Arc::clone(t), bindings))
            }),
        }
    }

    pub(crate) fn read_resource(
        self: &Arc<Self>,
        id: RequestId,
        params: Option<&RawValue>,
        out: &Outbound,
    ) -> Reply {
        let p: ResourceParams = match parse_params(params) {
            Ok(p) => p,
            Err(e) => return Reply::Now(encode_error(Some(&id), &e)),
        };
        let Some((entry, bindings)) = self.find_resource(&p.uri) else {
            let message = format!("Resource not found: {}", p.uri);
            return Reply::Now(encode_error(Some(&id), &not_found(&p.uri, message)));
        };
        let request = self.request_parts(&id, p.meta, out);
        let handler = entry.def.handler;
        let uri = p.uri;
        let read = ResourceRead::new(&entry, uri.clone(), bindings, request);
        run_handler(
            id,
            || handler(read),
            move |id, outcome| match outcome {
                Ok(Ok(contents)) => encode_result(id, &ReadResult { contents }),
                Ok(Err(e)) => {
                    let error = match e.kind {
                        ResourceErrorKind::NotFound => not_found(&uri, e.message),
                        ResourceErrorKind::Invalid => ErrorObject::invalid_params(e.message),
                        ResourceErrorKind::Internal => {
                            tracing::warn!(uri, error = %e.message, "resource read failed");
                            ErrorObject::internal(format!("reading `{uri}` failed: {}", e.message))
                        }
                    };
                    encode_error(Some(id), &error)
                }
                Err(panic) => {
                    tracing::error!(uri, panic, "resource read panicked");
                    encode_error(
                        Some(id),
                        &ErrorObject::internal(format!(
                            "reading `{uri}` failed unexpectedly: {panic}"
                        )),
                    )
                }
            },
        )
    }

    pub(crate) fn get_prompt(
        self: &Arc<Self>,
        id: RequestId,
        params: Option<&RawValue>,
        out: &Outbound,
    ) -> Reply {
        let p: GetPromptParams = match parse_params(params) {
            Ok(p) => p,
            Err(e) => return Reply::Now(encode_error(Some(&id), &e)),
        };
        let Some(entry) = self.core.prompts.get(&p.name) else {
            return Reply::Now(encode_error(
                Some(&id),
                &ErrorObject::invalid_params(format!("Unknown prompt: `{}`", p.name)),
            ));
        };
        let request = self.request_parts(&id, p.meta, out);
        let handler = entry.def.handler;
        let name = entry.def.name;
        let get = PromptGet::new(&entry, p.arguments.unwrap_or_default(), request);
        run_handler(
            id,
            || handler(get),
            move |id, outcome| match outcome {
                Ok(Ok(result)) => encode_result::<GetPromptResult>(id, &result),
                Ok(Err(error)) => encode_error(Some(id), &error),
                Err(panic) => {
                    tracing::error!(prompt = name, panic, "prompt panicked");
                    encode_error(
                        Some(id),
                        &ErrorObject::internal(format!(
                            "prompt `{name}` failed unexpectedly: {panic}"
                        )),
                    )
                }
            },
        )
    }

    pub(crate) fn complete(self: &Arc<Self>, id: RequestId, params: Option<&RawValue>) -> Reply {
        let p: CompleteParams = match parse_params(params) {
            Ok(p) => p,
            Err(e) => return Reply::Now(encode_error(Some(&id), &e)),
        };
        let argument = p.argument.name;
        let completer = match &p.reference {
            CompletionReference::Prompt { name } => {
                let Some(prompt) = self.core.prompts.get(name) else {
                    return Reply::Now(encode_error(
                        Some(&id),
                        &ErrorObject::invalid_params(format!("Unknown prompt: `{name}`")),
                    ));
                };
                match prompt.argument(&argument) {
                    Some(a) => a.spec.complete,
                    None => {
                        return Reply::Now(encode_error(
                            Some(&id),
                            &ErrorObject::invalid_params(format!(
                                "prompt `{name}` has no argument `{argument}`"
                            )),
                        ));
                    }
                }
            }
            CompletionReference::Resource { uri } => {
                let entry = self
                    .core
                    .templates
                    .get(uri)
                    .or_else(|| self.core.resources.get(uri));
                let Some(entry) = entry else {
                    return Reply::Now(encode_error(
                        Some(&id),
                        &ErrorObject::invalid_params(format!("Unknown resource template: `{uri}`")),
                    ));
                };
                match entry.variable(&argument) {
                    Some(v) => v.complete,
                    None => {
                        return Reply::Now(encode_error(
                            Some(&id),
                            &ErrorObject::invalid_params(format!(
                                "resource template `{uri}` has no variable `{argument}`"
                            )),
                        ));
                    }
                }
            }
        };
        let Some(completer) = completer else {
            return Reply::Now(encode_result(
                &id,
                &CompleteResult {
                    completion: Completion::default(),
                },
            ));
        };
        let request = CompletionRequest {
            value: p.argument.value,
            context: CompletionContext {
                argument,
                arguments: p.context.and_then(|c| c.arguments).unwrap_or_default(),
            },
        };
        run_handler(
            id,
            || super::HandlerFuture::pending(completer(request)),
            |id, outcome| match outcome {
                Ok(Ok(completion)) => encode_result(id, &CompleteResult { completion }),
                Ok(Err(message)) => encode_error(
                    Some(id),
                    &ErrorObject::internal(format!("completion failed: {message}")),
                ),
                Err(panic) => encode_error(
                    Some(id),
                    &ErrorObject::internal(format!("completion failed unexpectedly: {panic}")),
                ),
            },
        )
    }
}
