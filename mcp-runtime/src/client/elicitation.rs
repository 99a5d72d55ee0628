//! Elicitation answers completed with the form's defaults (SEP-1034): when the client's
//! handler accepts a form and leaves a field out, the field's `default` from the
//! `requestedSchema` is sent, so the server gets what the user saw pre-filled.

use serde_json::Value;

use super::ServerRequestHandler;

/// Wraps `handler` so that accepted `elicitation/create` answers carry the schema's defaults
/// for the fields they leave out.
pub(super) fn with_defaults(handler: ServerRequestHandler) -> ServerRequestHandler {
    ServerRequestHandler::new(move |method, params| {
        let schema = (method == "elicitation/create")
            .then(|| params.get("requestedSchema").cloned())
            .flatten();
        let answer = (handler.0)(method, params);
        Box::pin(async move {
            let mut result = answer.await?;
            if let Some(schema) = schema {
                fill_defaults(&schema, &mut result);
            }
            Ok(result)
        })
    })
}

/// Puts each property's `default` into an accepted answer's `content` where it is missing.
fn fill_defaults(schema: &Value, result: &mut Value) {
    if result.get("action").and_then(Value::as_str) != Some("accept") {
        return;
    }
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let Some(answer) = result.as_object_mut() else {
        return;
    };
    let content = answer
        .entry("content")
        .or_insert_with(|| Value::Object(Default::default()));
    let Some(content) = content.as_object_mut() else {
        return;
    };
    for (name, property) in properties {
        if let Some(default) = property.get("default")
            && !content.contains_key(name)
        {
            content.insert(name.clone(), default.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepted_forms_get_the_defaults_they_leave_out() {
        let schema = json!({"type": "object", "properties": {
            "name": {"type": "string", "default": "Ada"},
            "age": {"type": "integer", "default": 30},
            "note": {"type": "string"},
        }});
        let mut accepted = json!({"action": "accept", "content": {"name": "Grace"}});
        fill_defaults(&schema, &mut accepted);
        assert_eq!(
            accepted,
            json!({"action": "accept", "content": {"name": "Grace", "age": 30}})
        );
        let mut bare = json!({"action": "accept"});
        fill_defaults(&schema, &mut bare);
        assert_eq!(bare["content"], json!({"name": "Ada", "age": 30}));
        let mut declined = json!({"action": "decline"});
        fill_defaults(&schema, &mut declined);
        assert_eq!(declined, json!({"action": "decline"}));
    }
}
