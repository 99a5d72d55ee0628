//! Elicitation shorthands: a yes/no confirmation and a one-value question, without a form
//! struct of your own.

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::{ClientRequest, Context};
use crate::server::FormField;
use crate::server::context::client_requests::ClientRequestError;
use crate::server::schema::elicitation::{ElicitationResponse, parse_response, requested_schema};

const METHOD: &str = "elicitation/create";

/// The one field of [`Context::ask`]'s form.
#[derive(Deserialize, JsonSchema)]
#[schemars(rename = "Answer")]
struct Answer<T> {
    value: T,
}

impl Context {
    /// Asks the user to confirm, e.g. `ctx.confirm("Delete 3 notes?")`: a form of one
    /// checkbox. `true` only when the user accepted the form with the box ticked; declining,
    /// cancelling or leaving it unticked is `false`. Fails like [`Context::elicit`] when the
    /// client does not support elicitation.
    ///
    /// ```rust,no_run
    /// # use mcp_runtime::prelude::*;
    /// /// Delete every note.
    /// #[tool]
    /// async fn clear(ctx: Context) -> Result<&'static str, ToolError> {
    ///     if !ctx.confirm("Delete every note?").await? {
    ///         return Ok("kept");
    ///     }
    ///     Ok("deleted")
    /// }
    /// ```
    pub fn confirm(&self, message: impl Into<String>) -> ClientRequest<'_, bool> {
        let schema = json!({
            "type": "object",
            "properties": {
                "confirm": {"type": "boolean", "title": "Confirm", "default": false}
            },
            "required": ["confirm"]
        });
        let params = self.form_params(message.into(), schema);
        ClientRequest::new(self, METHOD, "elicitation", Ok(params), |m, v| {
            #[derive(Deserialize)]
            struct Confirmed {
                confirm: bool,
            }
            match parse_response::<Confirmed>(&v) {
                Ok(ElicitationResponse::Accept(c)) => Ok(c.confirm),
                Ok(_) => Ok(false),
                Err(message) => Err(ClientRequestError::InvalidResponse { method: m, message }),
            }
        })
    }

    /// Asks the user for one value of type `T`: a string, a number, a boolean, or an enum of
    /// unit variants with `#[derive(Form)]` (a choice), e.g. `ctx.ask::<u32>("How many
    /// guests?")`; any other type is refused at compile time ([`FormField`]). A form of one
    /// field, `value`; for several fields, use [`Context::elicit`] with a struct.
    pub fn ask<T>(&self, message: impl Into<String>) -> ClientRequest<'_, ElicitationResponse<T>>
    where
        T: FormField + JsonSchema + DeserializeOwned,
    {
        let params = requested_schema::<Answer<T>>()
            .map_err(|e| ClientRequestError::InvalidRequest {
                method: METHOD,
                message: e.to_string(),
            })
            .map(|schema| self.form_params(message.into(), Value::Object(schema)));
        ClientRequest::new(
            self,
            METHOD,
            "elicitation",
            params,
            |m, v| match parse_response::<Answer<T>>(&v) {
                Ok(ElicitationResponse::Accept(a)) => Ok(ElicitationResponse::Accept(a.value)),
                Ok(ElicitationResponse::Decline) => Ok(ElicitationResponse::Decline),
                Ok(ElicitationResponse::Cancel) => Ok(ElicitationResponse::Cancel),
                Err(message) => Err(ClientRequestError::InvalidResponse { method: m, message }),
            },
        )
    }

    /// The params of a form elicitation.
    fn form_params(&self, message: String, schema: Value) -> Map<String, Value> {
        let mut params = Map::new();
        if self.protocol_version().has_elicitation_modes() {
            params.insert("mode".into(), "form".into());
        }
        params.insert("message".into(), Value::String(message));
        params.insert("requestedSchema".into(), schema);
        params
    }
}
