//! Subscriptions are read access: `resources/subscribe` and `subscriptions/listen` naming a
//! context the caller may not see are refused with the "not found" a read of it gets, so that
//! nobody hears of changes to another tenant's context, nor learns that it exists.

use std::sync::Arc;

use mcp_runtime::middleware::{BoxFuture, Middleware, Next, Request, Response};
use mcp_runtime::protocol::{ErrorObject, code};
use serde::Deserialize;
use serde_json::json;

use crate::App;
use crate::store::StoreError;
use crate::tools::{caller, is_context_id};

/// The middleware that checks the context each subscription names.
pub(crate) struct SubscriptionGuard(pub(crate) Arc<App>);

#[derive(Deserialize)]
struct Subscribe {
    uri: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ListenFilter {
    #[serde(default)]
    resource_subscriptions: Vec<String>,
}

#[derive(Deserialize)]
struct Listen {
    #[serde(default)]
    notifications: ListenFilter,
}

/// The URIs a request subscribes to, if it subscribes. Params that do not parse are left to
/// the server, which refuses them.
fn subscribed(request: &Request) -> Option<Vec<String>> {
    let params = request.params()?.get();
    match request.method() {
        "resources/subscribe" => serde_json::from_str::<Subscribe>(params)
            .ok()
            .map(|s| vec![s.uri]),
        "subscriptions/listen" => serde_json::from_str::<Listen>(params)
            .ok()
            .map(|l| l.notifications.resource_subscriptions),
        _ => None,
    }
}

/// The context a URI of this server names, and the URI a read of it reports as not found:
/// `context://{id}` and `context://{id}/messages…`.
fn context_of(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("context://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let id = &rest[..end];
    let shown_end = match rest[end..].strip_prefix("/messages") {
        Some(_) => "context://".len() + end + "/messages".len(),
        None => "context://".len() + end,
    };
    Some((id, &uri[..shown_end]))
}

fn not_found(uri: &str, shown: &str) -> ErrorObject {
    ErrorObject::new(
        code::RESOURCE_NOT_FOUND,
        format!("Resource not found: {shown}"),
    )
    .with_data(json!({ "uri": uri }))
}

impl Middleware for SubscriptionGuard {
    // Only the two subscribing methods pass through the guard: every other request, and every
    // tool call, goes to dispatch without the middleware chain (and its copy of the arguments).
    fn request_methods(&self) -> Option<&'static [&'static str]> {
        Some(&["resources/subscribe", "subscriptions/listen"])
    }

    fn hooks_tool_calls(&self) -> bool {
        false
    }

    fn on_request<'a>(
        &'a self,
        request: &'a mut Request,
        next: Next<'a, Request, Response>,
    ) -> BoxFuture<'a, Response> {
        let Some(uris) = subscribed(request) else {
            return next.run(request);
        };
        Box::pin(async move {
            let who = caller(request.principal());
            for uri in &uris {
                let Some((id, shown)) = context_of(uri) else {
                    continue;
                };
                if !is_context_id(id) {
                    return request.error(&not_found(uri, shown));
                }
                match self.0.context(&who, id).await {
                    Ok(_) => {}
                    Err(StoreError::NotFound(_)) => return request.error(&not_found(uri, shown)),
                    Err(e) => {
                        tracing::error!(uri, error = %e, "database error checking a subscription");
                        return request
                            .error(&ErrorObject::internal("the database failed; try again"));
                    }
                }
            }
            next.run(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::context_of;

    #[test]
    fn context_uris_name_their_context() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            context_of(&format!("context://{id}")),
            Some((id, &*format!("context://{id}")))
        );
        assert_eq!(
            context_of(&format!("context://{id}/messages?since=3")),
            Some((id, &*format!("context://{id}/messages")))
        );
        assert_eq!(context_of("contexts://recent"), None);
    }
}
