//! Elicitation forms from Rust types, and reading the answers.

use std::fmt;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::protocol::JsonObject;
use crate::server::schema::{expected_phrase, generator};

/// What the form fields may be, for error messages.
const ALLOWED: &str = "a form field is a string, a number, an integer, a boolean, an enum of unit \
    variants, or a list of such enum values (`Vec<Enum>`), each optionally in an `Option`";

/// The string formats the restricted schema allows.
const FORMATS: [&str; 4] = ["email", "uri", "date", "date-time"];

/// How deep `$ref`s may chain before the schema counts as recursive.
const MAX_DEPTH: usize = 32;

/// Why a type cannot be the `requestedSchema` of a form elicitation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElicitSchemaError {
    type_name: String,
    field: Option<String>,
    problem: String,
}

impl ElicitSchemaError {
    /// The field at fault, as named in the schema; `None` when the type as a whole is not a
    /// struct with named fields.
    pub fn field(&self) -> Option<&str> {
        self.field.as_deref()
    }
}

impl fmt::Display for ElicitSchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(
                f,
                "cannot elicit `{}`: field `{field}` {}; {ALLOWED}",
                self.type_name, self.problem
            ),
            None => write!(
                f,
                "cannot elicit `{}`: it {}; a form is a struct with named fields",
                self.type_name, self.problem
            ),
        }
    }
}

impl std::error::Error for ElicitSchemaError {}

/// The `requestedSchema` of a form elicitation asking for a `T`:
/// `{"type":"object","properties":{…},"required":[…]}`, one primitive property per field.
///
///
/// Form elicitation: the `requestedSchema` of a Rust struct, and the client's answer.
///
/// A server asks the user for input with `elicitation/create`, sending a message and a
/// `requestedSchema`: a flat JSON object schema whose properties are primitives only.
/// [`requested_schema`] derives that schema from a struct's [`JsonSchema`] impl, and
/// [`parse_response`] reads the client's `ElicitResult` back into the struct.
///
/// Each field of the struct becomes one form field:
///
/// | Rust field | form field |
/// |---|---|
/// | `String`, `char` | `{"type":"string"}` with `title`, `description`, `minLength`, `maxLength`, `format` (`email`, `uri`, `date`, `date-time`), `default` |
/// | integers, floats | `{"type":"integer"}` / `{"type":"number"}` with `title`, `description`, `minimum`, `maximum`, `default` |
/// | `bool` | `{"type":"boolean"}` with `title`, `description`, `default` |
/// | enum of unit variants | `{"type":"string","enum":[…]}` |
/// | the same, some variant with a title or doc comment | `{"type":"string","oneOf":[{"const":…,"title":…}…]}` |
/// | `Vec<Enum>`, `HashSet<Enum>` | `{"type":"array","items":{"type":"string","enum":[…]}}` with `minItems`, `maxItems` |
/// | the same, titled | `{"type":"array","items":{"anyOf":[{"const":…,"title":…}…]}}` |
/// | `Option<T>` | as `T`, left out of `required` |
///
/// Field names follow serde (`rename`, `rename_all`). A field with a serde default is
/// optional and carries it as `"default"`. Doc comments become descriptions; a doc comment
/// that starts with a `# Heading` line gives the title. A variant's title is its
/// `#[schemars(title = "…")]`, else the first paragraph of its doc comment; variants without
/// either, beside variants with one, are titled with their value.
///
/// Keywords the restricted schema does not define are dropped: `pattern`, formats other than
/// the four above, `exclusiveMinimum`/`exclusiveMaximum`, `uniqueItems`, the numeric
/// `format`s (`int32`, `double`, …), `additionalProperties`, `$schema` and `$defs`. Anything
/// that is not a form field (a nested struct, a map, a tuple, a list of anything but enum
/// values, an enum whose variants carry data, `serde_json::Value`) is an
/// [`ElicitSchemaError`] naming the field.
///
/// The deprecated titled form `{"type":"string","enum":[…],"enumNames":[…]}` comes out when
/// a field of a unit enum carries `#[schemars(extend("enumNames" = ["…", …]))]`, one name per
/// variant.
///
/// ```
/// use mcp_runtime::server::{requested_schema, parse_response, ElicitationResponse};
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Booking {
///     /// How many guests.
///     #[schemars(range(min = 1, max = 8))]
///     guests: u8,
///     /// Anything we should know.
///     notes: Option<String>,
/// }
///
/// let schema = requested_schema::<Booking>().unwrap();
/// assert_eq!(schema["required"], serde_json::json!(["guests"]));
///
/// let answer = serde_json::json!({"action": "accept", "content": {"guests": 2}});
/// match parse_response::<Booking>(&answer).unwrap() {
///     ElicitationResponse::Accept(booking) => assert_eq!(booking.guests, 2),
///     ElicitationResponse::Decline | ElicitationResponse::Cancel => unreachable!(),
/// }
/// ```
pub fn requested_schema<T: JsonSchema>() -> Result<JsonObject, ElicitSchemaError> {
    let schema = generator(false).root_schema_for::<T>().to_value();
    form_schema(&short_type_name(std::any::type_name::<T>()), &schema)
}

/// The restricted form schema of a schemars root schema.
fn form_schema(type_name: &str, root: &Value) -> Result<JsonObject, ElicitSchemaError> {
    let fail = |field: Option<&str>, problem: String| ElicitSchemaError {
        type_name: type_name.to_owned(),
        field: field.map(str::to_owned),
        problem,
    };
    let obj = flatten(root, root, 0).map_err(|p| fail(None, p))?;
    if obj.get("type").and_then(Value::as_str) != Some("object") {
        return Err(fail(None, describe(&obj)));
    }
    if ["oneOf", "anyOf", "allOf"]
        .iter()
        .any(|k| obj.contains_key(*k))
    {
        return Err(fail(
            None,
            "combines alternative schemas (`oneOf`, `anyOf` or `allOf`), as a flattened enum does"
                .into(),
        ));
    }
    let empty = Map::new();
    let fields = obj
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    if fields.is_empty() && obj.get("additionalProperties").is_some_and(|a| a != false) {
        return Err(fail(None, "is a map".into()));
    }
    let mut properties = Map::new();
    for (name, schema) in fields {
        let property = property(schema, root).map_err(|p| fail(Some(name), p))?;
        properties.insert(name.clone(), property);
    }
    let required: Vec<Value> = obj
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| r.as_str().is_some_and(|r| properties.contains_key(r)))
        .cloned()
        .collect();
    let mut out = Map::new();
    out.insert("type".into(), "object".into());
    out.insert("properties".into(), Value::Object(properties));
    out.insert("required".into(), Value::Array(required));
    Ok(out)
}

/// `schema` as one object: `$ref`s resolved against `root` (its `$defs` or `definitions`), a
/// lone `allOf` merged, and the `null` alternative of an `Option` removed. Keywords beside a
/// `$ref` win over the target's.
fn flatten(schema: &Value, root: &Value, depth: usize) -> Result<JsonObject, String> {
    let mut obj = match schema {
        Value::Object(obj) => obj.clone(),
        Value::Bool(true) => return Err("accepts any JSON value".into()),
        _ => return Err("accepts no value at all".into()),
    };
    if depth > MAX_DEPTH {
        return Err("is recursive".into());
    }
    if let Some(reference) = obj.remove("$ref") {
        let target = reference
            .as_str()
            .and_then(|r| r.strip_prefix('#'))
            .and_then(|pointer| root.pointer(pointer))
            .ok_or_else(|| format!("refers to {reference}, which the schema does not define"))?;
        merge_under(&mut obj, flatten(target, root, depth + 1)?);
    }
    if let Some(Value::Array(all)) = obj.get("allOf")
        && let [only] = all.as_slice()
    {
        let only = only.clone();
        obj.remove("allOf");
        merge_under(&mut obj, flatten(&only, root, depth + 1)?);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(alternatives)) = obj.get_mut(key) {
            let before = alternatives.len();
            alternatives.retain(|a| !is_null_schema(a));
            if alternatives.len() == 1 && before == 2 {
                let only = alternatives.pop().expect("one alternative");
                obj.remove(key);
                merge_under(&mut obj, flatten(&only, root, depth + 1)?);
            }
        }
    }
    if let Some(Value::Array(types)) = obj.get_mut("type")
        && types.len() > 1
    {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            obj.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum")
        && values.len() > 1
    {
        values.retain(|v| !v.is_null());
    }
    Ok(obj)
}

/// Adds `inner`'s keywords to `obj`, keeping those `obj` already has.
fn merge_under(obj: &mut JsonObject, inner: JsonObject) {
    for (k, v) in inner {
        obj.entry(k).or_insert(v);
    }
}

fn is_null_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
        || schema.get("const").is_some_and(Value::is_null)
}

/// Whether `schema` chooses among fixed values, as the schema of an enum does.
fn is_choice(schema: &JsonObject) -> bool {
    ["enum", "oneOf", "anyOf", "const"]
        .iter()
        .any(|k| schema.contains_key(*k))
}

/// What a schema that is not a form field stands for, as the end of an error sentence.
fn describe(schema: &JsonObject) -> String {
    match schema.get("type") {
        _ if is_choice(schema) => {
            if schema.get("type").is_some_and(|t| t == "string") {
                "is an enum".into()
            } else {
                "is an enum whose variants carry data or are not strings".into()
            }
        }
        Some(Value::String(t)) if t == "object" => {
            if schema.contains_key("properties") {
                "is a nested object (a struct)".into()
            } else {
                "is a map or an object".into()
            }
        }
        Some(Value::String(t)) if t == "null" => "is always null (a unit type)".into(),
        Some(Value::String(t)) if t == "array" => {
            if schema.contains_key("prefixItems") {
                "is a tuple".into()
            } else {
                "is a list".into()
            }
        }
        Some(Value::Array(types)) => {
            let types: Vec<String> = types.iter().map(Value::to_string).collect();
            format!("accepts several JSON types ({})", types.join(", "))
        }
        Some(_) => format!("is {}", expected_phrase(&Value::Object(schema.clone()))),
        None => "accepts any JSON value".into(),
    }
}

/// The form field of one struct field.
fn property(schema: &Value, root: &Value) -> Result<Value, String> {
    let s = flatten(schema, root, 0)?;
    let is_choice = is_choice(&s);
    let mut out = Map::new();
    match s.get("type").and_then(Value::as_str) {
        Some("string") | None if is_choice => single_select(&s, root, &mut out)?,
        Some("string") => {
            out.insert("type".into(), "string".into());
            copy(
                &s,
                &mut out,
                &["title", "description", "minLength", "maxLength"],
            );
            if let Some(format) = s.get("format")
                && FORMATS.iter().any(|f| format == f)
            {
                out.insert("format".into(), format.clone());
            }
            copy_default(&s, &mut out, Value::is_string);
        }
        Some(t @ ("integer" | "number")) => {
            if is_choice {
                return Err(format!(
                    "is a fixed set of numbers; only strings can be chosen from ({})",
                    expected_phrase(&Value::Object(s.clone()))
                ));
            }
            out.insert("type".into(), t.into());
            copy(
                &s,
                &mut out,
                &["title", "description", "minimum", "maximum"],
            );
            copy_default(&s, &mut out, Value::is_number);
        }
        Some("boolean") => {
            out.insert("type".into(), "boolean".into());
            copy(&s, &mut out, &["title", "description"]);
            copy_default(&s, &mut out, Value::is_boolean);
        }
        Some("array") if !s.contains_key("prefixItems") => multi_select(&s, root, &mut out)?,
        _ => return Err(describe(&s)),
    }
    Ok(Value::Object(out))
}

/// A single-select enum: untitled (`enum`), titled (`oneOf`), or legacy (`enumNames`).
fn single_select(s: &JsonObject, root: &Value, out: &mut JsonObject) -> Result<(), String> {
    let choices = choices(s, root, 0)?;
    out.insert("type".into(), "string".into());
    copy(s, out, &["title", "description"]);
    let values = || {
        choices
            .iter()
            .map(|c| Value::from(c.value.as_str()))
            .collect()
    };
    let titled = choices.iter().any(|c| c.title.is_some());
    match s.get("enumNames") {
        Some(names) if !titled => {
            let names = names
                .as_array()
                .filter(|n| n.len() == choices.len() && n.iter().all(Value::is_string))
                .ok_or_else(|| {
                    format!(
                        "has `enumNames` that are not {} strings, one per variant",
                        choices.len()
                    )
                })?;
            out.insert("enum".into(), Value::Array(values()));
            out.insert("enumNames".into(), Value::Array(names.clone()));
        }
        _ if titled => {
            out.insert("oneOf".into(), titled_options(&choices));
        }
        _ => {
            out.insert("enum".into(), Value::Array(values()));
        }
    }
    copy_default(s, out, |d| choices.iter().any(|c| d == c.value.as_str()));
    Ok(())
}

/// A multi-select enum: a list of untitled (`items.enum`) or titled (`items.anyOf`) values.
fn multi_select(s: &JsonObject, root: &Value, out: &mut JsonObject) -> Result<(), String> {
    let items = match s.get("items") {
        None => return Err("is a list of any JSON values".into()),
        Some(Value::Array(_)) => return Err("is a tuple".into()),
        Some(items) => flatten(items, root, 0).map_err(|p| format!("is a list whose items {p}"))?,
    };
    let string_or_none = items.get("type").is_none_or(|t| t == "string");
    if !is_choice(&items) || !string_or_none {
        return Err(format!(
            "is a list whose items are not enum values (each item is {})",
            expected_phrase(&Value::Object(items.clone()))
        ));
    }
    let choices = choices(&items, root, 0).map_err(|p| format!("is a list whose items {p}"))?;
    out.insert("type".into(), "array".into());
    copy(s, out, &["title", "description", "minItems", "maxItems"]);
    let mut item_schema = Map::new();
    if choices.iter().any(|c| c.title.is_some()) {
        item_schema.insert("anyOf".into(), titled_options(&choices));
    } else {
        item_schema.insert("type".into(), "string".into());
        let values = choices.iter().map(|c| Value::from(c.value.as_str()));
        item_schema.insert("enum".into(), values.collect());
    }
    out.insert("items".into(), Value::Object(item_schema));
    copy_default(s, out, |d| {
        d.as_array().is_some_and(|d| {
            d.iter()
                .all(|v| choices.iter().any(|c| v == c.value.as_str()))
        })
    });
    Ok(())
}

/// One value of an enum, and its display title if it has one.
struct Choice {
    value: String,
    title: Option<String>,
}

/// The values of a string enum: from `enum`, a `const`, or `oneOf`/`anyOf` alternatives of
/// those (schemars groups undocumented unit variants in one `enum` alternative).
fn choices(s: &JsonObject, root: &Value, depth: usize) -> Result<Vec<Choice>, String> {
    const NOT_STRINGS: &str = "is an enum whose variants carry data or are not strings";
    if depth > MAX_DEPTH {
        return Err("is recursive".into());
    }
    if s.get("type").is_some_and(|t| t != "string") {
        return Err(NOT_STRINGS.into());
    }
    let mut found = Vec::new();
    if let Some(value) = s.get("const") {
        let value = value.as_str().ok_or(NOT_STRINGS)?;
        // The title, else the first paragraph of the description, on one line.
        let title = s.get("title").or_else(|| s.get("description"));
        let title = title
            .and_then(Value::as_str)
            .and_then(|t| t.split("\n\n").next())
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|t| !t.is_empty());
        found.push(Choice {
            value: value.to_owned(),
            title,
        });
    } else if let Some(Value::Array(values)) = s.get("enum") {
        for value in values {
            let value = value.as_str().ok_or(NOT_STRINGS)?;
            found.push(Choice {
                value: value.to_owned(),
                title: None,
            });
        }
    } else if let Some(Value::Array(alternatives)) = s.get("oneOf").or_else(|| s.get("anyOf")) {
        for alternative in alternatives {
            let alternative = flatten(alternative, root, depth + 1)?;
            found.extend(choices(&alternative, root, depth + 1)?);
        }
    } else {
        return Err(NOT_STRINGS.into());
    }
    if found.is_empty() {
        return Err("is an enum without variants".into());
    }
    Ok(found)
}

/// `[{"const": value, "title": title}, …]`, titling untitled values with the value itself.
fn titled_options(choices: &[Choice]) -> Value {
    choices
        .iter()
        .map(|c| {
            let mut option = Map::new();
            option.insert("const".into(), c.value.as_str().into());
            let title = c.title.as_deref().unwrap_or(&c.value);
            option.insert("title".into(), title.into());
            Value::Object(option)
        })
        .collect()
}

fn copy(from: &JsonObject, to: &mut JsonObject, keys: &[&str]) {
    for key in keys {
        if let Some(v) = from.get(*key) {
            to.insert((*key).to_owned(), v.clone());
        }
    }
}

/// Copies `default` when it is a value the field accepts (not the `null` of an `Option`).
fn copy_default(from: &JsonObject, to: &mut JsonObject, fits: impl Fn(&Value) -> bool) {
    if let Some(d) = from.get("default")
        && fits(d)
    {
        to.insert("default".into(), d.clone());
    }
}

/// The user's answer to a form elicitation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElicitationResponse<T> {
    /// The user submitted the form; its content, deserialized.
    Accept(T),
    /// The user explicitly refused to give the information.
    Decline,
    /// The user dismissed the request without choosing.
    Cancel,
}

impl<T> ElicitationResponse<T> {
    /// The submitted content, if the user accepted.
    pub fn accepted(self) -> Option<T> {
        match self {
            ElicitationResponse::Accept(content) => Some(content),
            ElicitationResponse::Decline | ElicitationResponse::Cancel => None,
        }
    }
}

/// Reads a client's `ElicitResult` (`{"action":"accept","content":{…}}`, or the action
/// `"decline"` or `"cancel"`) into an [`ElicitationResponse`].
///
/// An `accept` without `content` deserializes `T` from an empty object, so a struct whose
/// fields are all optional still reads. When the content does not fit `T`, the error names
/// the field: ``field `age`: invalid type: string "ten", expected u8``.
pub fn parse_response<T: DeserializeOwned>(
    result: &Value,
) -> Result<ElicitationResponse<T>, String> {
    let Some(result) = result.as_object() else {
        return Err(format!(
            "an elicitation result must be an object, not {}",
            json_kind(result)
        ));
    };
    match result.get("action").and_then(Value::as_str) {
        Some("accept") => {}
        Some("decline") => return Ok(ElicitationResponse::Decline),
        Some("cancel") => return Ok(ElicitationResponse::Cancel),
        _ => {
            let action = result
                .get("action")
                .map_or("nothing".into(), Value::to_string);
            return Err(format!(
                "the elicitation result's `action` is {action}; expected \"accept\", \"decline\" or \"cancel\""
            ));
        }
    }
    let empty = Map::new();
    let content = match result.get("content") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(content)) => content,
        Some(other) => {
            return Err(format!(
                "the elicitation result's `content` must be an object, not {}",
                json_kind(other)
            ));
        }
    };
    deserialize_content(content).map(ElicitationResponse::Accept)
}

/// Deserializes the content of an accepted form, naming the field a failure comes from.
///
/// The content is written out one field per line, so the line of a deserialization error
/// tells which field it is about.
fn deserialize_content<T: DeserializeOwned>(content: &JsonObject) -> Result<T, String> {
    let mut text = String::from("{");
    for (i, (name, value)) in content.iter().enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push('\n');
        text.push_str(&Value::from(name.as_str()).to_string());
        text.push(':');
        text.push_str(&value.to_string());
    }
    text.push_str("\n}");
    serde_json::from_str(&text).map_err(|e| {
        let message = e.to_string();
        let position = format!(" at line {} column {}", e.line(), e.column());
        let message = message.strip_suffix(&position).unwrap_or(&message);
        match e.line().checked_sub(2).and_then(|i| content.keys().nth(i)) {
            Some(field) => format!("field `{field}`: {message}"),
            None => format!("the elicited content: {message}"),
        }
    })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A type name without module paths: `alloc::vec::Vec<app::Plan>` is `Vec<Plan>`.
fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment_start = 0;
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            out.truncate(segment_start);
        } else {
            out.push(c);
            if !(c.is_alphanumeric() || c == '_') {
                segment_start = out.len();
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    use super::*;

    /// The properties of `T`'s requested schema, after checking the envelope.
    fn properties<T: JsonSchema>() -> JsonObject {
        let schema = requested_schema::<T>().unwrap();
        assert_eq!(schema["type"], "object");
        assert_eq!(
            schema.len(),
            3,
            "only type, properties, required: {schema:#?}"
        );
        schema["properties"].as_object().unwrap().clone()
    }

    fn error<T: JsonSchema>() -> ElicitSchemaError {
        requested_schema::<T>().unwrap_err()
    }

    #[derive(Serialize, Deserialize, JsonSchema, Default, PartialEq, Debug)]
    #[serde(rename_all = "lowercase")]
    enum Status {
        #[default]
        Active,
        Inactive,
        Pending,
    }

    fn ratio() -> f64 {
        0.5
    }

    fn country() -> String {
        "FR".into()
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Primitives {
        /// # Name
        /// The person's full name.
        #[schemars(length(min = 1, max = 50))]
        name: String,
        /// Where to write.
        #[schemars(email)]
        email: String,
        #[schemars(url)]
        homepage: Option<String>,
        #[schemars(extend("format" = "date"))]
        birthday: String,
        #[schemars(extend("format" = "date-time"))]
        wake_up: Option<String>,
        /// Digits only.
        #[schemars(regex(pattern = r"^\d+$"), extend("format" = "uuid"))]
        code: String,
        #[serde(default = "country")]
        #[schemars(length(equal = 2))]
        country: String,
        initial: char,
        #[schemars(range(min = 18, max = 130))]
        age: u8,
        height: Option<i64>,
        #[serde(default = "ratio")]
        #[schemars(range(min = 0.0, max = 1.0))]
        ratio: f64,
        /// Send us letters.
        #[serde(default)]
        subscribed: bool,
        agreed: bool,
    }

    #[test]
    fn primitives_keep_their_constraints_and_defaults() {
        let schema = requested_schema::<Primitives>().unwrap();
        let expected = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "title": "Name",
                    "description": "The person's full name.", "minLength": 1, "maxLength": 50},
                "email": {"type": "string", "format": "email", "description": "Where to write."},
                "homepage": {"type": "string", "format": "uri"},
                "birthday": {"type": "string", "format": "date"},
                "wake_up": {"type": "string", "format": "date-time"},
                "code": {"type": "string", "description": "Digits only."},
                "country": {"type": "string", "minLength": 2, "maxLength": 2, "default": "FR"},
                "initial": {"type": "string", "minLength": 1, "maxLength": 1},
                "age": {"type": "integer", "minimum": 18, "maximum": 130},
                "height": {"type": "integer"},
                "ratio": {"type": "number", "minimum": 0.0, "maximum": 1.0, "default": 0.5},
                "subscribed": {"type": "boolean", "description": "Send us letters.",
                    "default": false},
                "agreed": {"type": "boolean"},
            },
            "required": ["name", "email", "birthday", "code", "initial", "age", "agreed"],
        });
        assert_eq!(Value::Object(schema), expected);
    }

    #[derive(Deserialize, JsonSchema, PartialEq, Eq, PartialOrd, Ord)]
    #[serde(rename_all = "lowercase")]
    enum Plain {
        Option1,
        Option2,
        Option3,
    }

    /// Variants titled by attribute.
    #[derive(Deserialize, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    enum Titled {
        #[schemars(title = "First Option")]
        Value1,
        #[schemars(title = "Second Option")]
        Value2,
        #[schemars(title = "Third Option")]
        Value3,
    }

    /// Variants titled by doc comment.
    #[derive(Deserialize, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    enum Documented {
        /// First Choice
        Value1,
        /// Second
        /// Choice
        ///
        /// More about the second choice.
        Value2,
        /// Third Choice
        Value3,
    }

    #[derive(Deserialize, JsonSchema)]
    #[serde(rename_all = "lowercase")]
    enum Legacy {
        Opt1,
        Opt2,
        Opt3,
    }

    /// SEP-1330, as the conformance suite's `test_elicitation_sep1330_enums` asks for it.
    #[derive(Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Sep1330 {
        /// Select one option
        untitled_single: Option<Plain>,
        /// Select one option with titles
        titled_single: Option<Titled>,
        /// Select one option (legacy)
        #[schemars(extend("enumNames" = ["Option One", "Option Two", "Option Three"]))]
        legacy_enum: Option<Legacy>,
        /// Select multiple options
        #[schemars(length(min = 1, max = 3))]
        untitled_multi: Option<Vec<Plain>>,
        /// Select multiple options with titles
        #[schemars(length(min = 1, max = 3))]
        titled_multi: Option<Vec<Documented>>,
    }

    #[test]
    fn conformance_sep1330_enums() {
        let schema = requested_schema::<Sep1330>().unwrap();
        let expected = json!({
            "type": "object",
            "properties": {
                "untitledSingle": {"type": "string", "description": "Select one option",
                    "enum": ["option1", "option2", "option3"]},
                "titledSingle": {"type": "string", "description": "Select one option with titles",
                    "oneOf": [
                        {"const": "value1", "title": "First Option"},
                        {"const": "value2", "title": "Second Option"},
                        {"const": "value3", "title": "Third Option"},
                    ]},
                "legacyEnum": {"type": "string", "description": "Select one option (legacy)",
                    "enum": ["opt1", "opt2", "opt3"],
                    "enumNames": ["Option One", "Option Two", "Option Three"]},
                "untitledMulti": {"type": "array", "description": "Select multiple options",
                    "minItems": 1, "maxItems": 3,
                    "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                "titledMulti": {"type": "array",
                    "description": "Select multiple options with titles",
                    "minItems": 1, "maxItems": 3,
                    "items": {"anyOf": [
                        {"const": "value1", "title": "First Choice"},
                        {"const": "value2", "title": "Second Choice"},
                        {"const": "value3", "title": "Third Choice"},
                    ]}},
            },
            "required": [],
        });
        assert_eq!(Value::Object(schema), expected);
    }

    fn john() -> String {
        "John Doe".into()
    }
    fn thirty() -> i64 {
        30
    }
    fn score() -> f64 {
        95.5
    }
    fn yes() -> bool {
        true
    }

    /// SEP-1034, as the conformance suite's `test_elicitation_sep1034_defaults` asks for it.
    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Sep1034 {
        /// User name
        #[serde(default = "john")]
        name: String,
        /// User age
        #[serde(default = "thirty")]
        age: i64,
        /// User score
        #[serde(default = "score")]
        score: f64,
        /// User status
        #[serde(default)]
        status: Status,
        /// Verification status
        #[serde(default = "yes")]
        verified: bool,
    }

    #[test]
    fn conformance_sep1034_defaults() {
        let schema = requested_schema::<Sep1034>().unwrap();
        let expected = json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "User name", "default": "John Doe"},
                "age": {"type": "integer", "description": "User age", "default": 30},
                "score": {"type": "number", "description": "User score", "default": 95.5},
                "status": {"type": "string", "description": "User status",
                    "enum": ["active", "inactive", "pending"], "default": "active"},
                "verified": {"type": "boolean", "description": "Verification status",
                    "default": true},
            },
            "required": [],
        });
        assert_eq!(Value::Object(schema), expected);
    }

    // Some variants documented, some not.
    #[derive(Serialize, Deserialize, JsonSchema)]
    enum Mixed {
        /// The red one
        Red,
        Green,
        Blue,
    }

    fn warm() -> Vec<Mixed> {
        vec![Mixed::Red]
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Selections {
        plain: Plain,
        mixed: Option<Mixed>,
        #[serde(default = "warm")]
        colours: Vec<Mixed>,
        set: BTreeSet<Plain>,
        #[serde(default)]
        status: Option<Status>,
    }

    #[test]
    fn enums_single_and_multi_select() {
        let props = properties::<Selections>();
        assert_eq!(
            props["plain"],
            json!({"type": "string", "enum": ["option1", "option2", "option3"]})
        );
        let titled = json!([
            {"const": "Red", "title": "The red one"},
            {"const": "Green", "title": "Green"},
            {"const": "Blue", "title": "Blue"},
        ]);
        let mut mixed = props["mixed"].clone();
        sort_options(&mut mixed["oneOf"]);
        let mut expected = json!({"type": "string", "oneOf": titled});
        sort_options(&mut expected["oneOf"]);
        assert_eq!(mixed, expected);
        let mut colours = props["colours"].clone();
        sort_options(&mut colours["items"]["anyOf"]);
        let mut expected = json!({"type": "array", "items": {"anyOf": titled},
            "default": ["Red"]});
        sort_options(&mut expected["items"]["anyOf"]);
        assert_eq!(colours, expected);
        assert_eq!(
            props["set"],
            json!({"type": "array", "items": {"type": "string",
                "enum": ["option1", "option2", "option3"]}})
        );
        assert_eq!(
            props["status"],
            json!({"type": "string", "enum": ["active", "inactive", "pending"]})
        );
        let schema = requested_schema::<Selections>().unwrap();
        assert_eq!(schema["required"], json!(["plain", "set"]));
    }

    /// Options in a fixed order: schemars lists documented variants after the others.
    fn sort_options(options: &mut Value) {
        let options = options.as_array_mut().unwrap();
        options.sort_by_key(|o| o["const"].as_str().unwrap().to_owned());
    }

    #[test]
    fn references_into_defs_and_definitions_resolve() {
        use schemars::generate::SchemaSettings;
        let inlined = requested_schema::<Sep1330>().unwrap();
        for settings in [SchemaSettings::draft2020_12(), SchemaSettings::draft07()] {
            let root = settings
                .for_deserialize()
                .into_generator()
                .root_schema_for::<Sep1330>()
                .to_value();
            let defs = root.get("$defs").or_else(|| root.get("definitions"));
            assert!(defs.is_some_and(|d| d.get("Plain").is_some()), "{root:#}");
            assert_eq!(form_schema("Sep1330", &root).unwrap(), inlined);
        }
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Address {
        city: String,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Nested {
        name: String,
        address: Address,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Tags {
        tags: Vec<String>,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Labels {
        labels: HashMap<String, String>,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Point {
        at: (i32, i32),
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Anything {
        extra: Value,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    enum Shape {
        Circle { radius: f64 },
        Square(f64),
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Drawing {
        shape: Shape,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Addresses {
        addresses: Vec<Address>,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Node {
        label: String,
        next: Option<Box<Node>>,
    }

    #[test]
    fn fields_that_are_not_primitives_are_named_in_errors() {
        let cases = [
            (
                error::<Nested>(),
                "address",
                "is a nested object (a struct)",
            ),
            (
                error::<Tags>(),
                "tags",
                "is a list whose items are not enum values (each item is a string)",
            ),
            (error::<Labels>(), "labels", "is a map or an object"),
            (error::<Point>(), "at", "is a tuple"),
            (error::<Anything>(), "extra", "accepts any JSON value"),
            (
                error::<Drawing>(),
                "shape",
                "is an enum whose variants carry data or are not strings",
            ),
            (
                error::<Addresses>(),
                "addresses",
                "is a list whose items are not enum values (each item is an object)",
            ),
            (error::<Node>(), "next", "is a nested object (a struct)"),
        ];
        for (error, field, problem) in cases {
            assert_eq!(error.field(), Some(field), "{error}");
            let message = error.to_string();
            assert!(
                message.contains(&format!("field `{field}` {problem}; ")),
                "{message}"
            );
            assert!(message.ends_with(ALLOWED), "{message}");
        }
        assert_eq!(
            error::<Nested>().to_string(),
            format!(
                "cannot elicit `Nested`: field `address` is a nested object (a struct); {ALLOWED}"
            )
        );
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct BadNames {
        #[schemars(extend("enumNames" = ["One", "Two"]))]
        choice: Plain,
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Level {
        #[schemars(extend("enum" = [1, 2, 3]))]
        level: u8,
    }

    #[test]
    fn malformed_enums_are_errors() {
        let names = error::<BadNames>();
        assert_eq!(names.field(), Some("choice"));
        assert!(
            names
                .to_string()
                .contains("field `choice` has `enumNames` that are not 3 strings, one per variant"),
            "{names}"
        );
        let numbers = error::<Level>();
        assert_eq!(numbers.field(), Some("level"));
        assert!(
            numbers.to_string().contains(
                "field `level` is a fixed set of numbers; only strings can be chosen from (one of 1, 2, 3)"
            ),
            "{numbers}"
        );
    }

    #[derive(Deserialize, JsonSchema)]
    struct Unit;

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Pair(String, i32);

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Flattened {
        name: String,
        #[serde(flatten)]
        shape: Shape,
    }

    #[test]
    fn a_root_that_is_not_a_struct_is_an_error() {
        let cases = [
            (error::<String>(), "`String`: it is a string"),
            (error::<Vec<Plain>>(), "`Vec<Plain>`: it is a list"),
            (error::<Plain>(), "`Plain`: it is an enum"),
            (
                error::<Shape>(),
                "`Shape`: it is an enum whose variants carry data or are not strings",
            ),
            (error::<Unit>(), "`Unit`: it is always null (a unit type)"),
            (error::<Pair>(), "`Pair`: it is a tuple"),
            (
                error::<HashMap<String, i32>>(),
                "`HashMap<String, i32>`: it is a map",
            ),
            (
                error::<Flattened>(),
                "`Flattened`: it combines alternative schemas",
            ),
        ];
        for (error, start) in cases {
            assert_eq!(error.field(), None);
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("cannot elicit {start}")),
                "{message}"
            );
            assert!(
                message.ends_with("; a form is a struct with named fields"),
                "{message}"
            );
        }
    }

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Empty {}

    #[derive(Deserialize, JsonSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Strict {
        name: String,
    }

    #[test]
    fn an_empty_or_strict_struct_is_a_plain_form() {
        assert_eq!(
            Value::Object(requested_schema::<Empty>().unwrap()),
            json!({"type": "object", "properties": {}, "required": []})
        );
        assert_eq!(
            Value::Object(requested_schema::<Strict>().unwrap()),
            json!({"type": "object", "properties": {"name": {"type": "string"}},
                "required": ["name"]})
        );
    }

    /// Whether `value` conforms to `schema`, for the keywords the protocol's schema.json uses
    /// in its elicitation definitions. Stricter than JSON Schema: an object may hold only the
    /// keys its schema's `properties` name, unless `additionalProperties` says otherwise, so
    /// that a keyword the restricted schema does not define is caught.
    fn conforms(value: &Value, schema: &Value, root: &Value) -> bool {
        let Some(s) = schema.as_object() else {
            return schema != &Value::Bool(false);
        };
        if let Some(reference) = s.get("$ref").and_then(Value::as_str) {
            let target = root.pointer(reference.trim_start_matches('#')).unwrap();
            if !conforms(value, target, root) {
                return false;
            }
        }
        if let Some(any) = s.get("anyOf").and_then(Value::as_array)
            && !any.iter().any(|a| conforms(value, a, root))
        {
            return false;
        }
        if s.get("const").is_some_and(|c| c != value)
            || s.get("enum")
                .and_then(Value::as_array)
                .is_some_and(|e| !e.contains(value))
        {
            return false;
        }
        let has_type = |t: &Value| match t.as_str().unwrap() {
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "array" => value.is_array(),
            "object" => value.is_object(),
            _ => value.is_null(),
        };
        match s.get("type") {
            Some(Value::Array(types)) if !types.iter().any(has_type) => return false,
            Some(t @ Value::String(_)) if !has_type(t) => return false,
            _ => {}
        }
        if let Value::Object(obj) = value {
            let properties = s.get("properties").and_then(Value::as_object);
            let required = s.get("required").and_then(Value::as_array);
            if required.is_some_and(|r| r.iter().any(|k| !obj.contains_key(k.as_str().unwrap()))) {
                return false;
            }
            for (k, v) in obj {
                let ok = match (
                    properties.and_then(|p| p.get(k)),
                    s.get("additionalProperties"),
                ) {
                    (Some(p), _) | (None, Some(p)) => conforms(v, p, root),
                    (None, None) => properties.is_none(),
                };
                if !ok {
                    return false;
                }
            }
        }
        if let (Value::Array(values), Some(items)) = (value, s.get("items")) {
            return values.iter().all(|v| conforms(v, items, root));
        }
        true
    }

    #[test]
    fn produced_schemas_conform_to_the_protocol_schema() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/schemas/2025-11-25/schema.json"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("skipped: {path} is not there");
            return;
        };
        let root: Value = serde_json::from_str(&text).unwrap();
        let requested = &root["$defs"]["ElicitRequestFormParams"]["properties"]["requestedSchema"];
        assert!(requested.is_object());
        let check = |schema: Value| conforms(&schema, requested, &root);
        for schema in [
            requested_schema::<Primitives>(),
            requested_schema::<Sep1034>(),
            requested_schema::<Sep1330>(),
            requested_schema::<Selections>(),
            requested_schema::<Empty>(),
            requested_schema::<Strict>(),
        ] {
            let schema = Value::Object(schema.unwrap());
            assert!(check(schema.clone()), "{schema:#}");
        }
        // The check itself refuses what the restricted schema does not allow.
        for bad in [
            json!({"type": "object", "properties": {"a": {"type": "string", "pattern": "x"}}}),
            json!({"type": "object", "properties": {"a": {"type": "object"}}}),
            json!({"type": "object", "properties": {"a": {"type": "string",
                "oneOf": [{"const": "x"}]}}}),
            json!({"type": "object", "properties": {"a": {"type": "array",
                "items": {"type": "integer"}}}}),
            json!({"type": "object", "properties": {}, "additionalProperties": false}),
        ] {
            assert!(!check(bad.clone()), "{bad:#}");
        }
    }

    #[test]
    fn type_names_lose_their_paths() {
        assert_eq!(
            short_type_name("alloc::vec::Vec<app::model::Plan>"),
            "Vec<Plan>"
        );
        assert_eq!(
            short_type_name("std::collections::HashMap<alloc::string::String, (i32, a::B)>"),
            "HashMap<String, (i32, B)>"
        );
        assert_eq!(short_type_name("u8"), "u8");
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Person {
        name: String,
        age: u8,
        #[serde(default)]
        tags: Vec<String>,
    }

    #[derive(Debug, PartialEq, Deserialize, Default)]
    struct Optional {
        note: Option<String>,
    }

    #[test]
    fn responses_accept_decline_cancel() {
        let accept = json!({"action": "accept",
            "content": {"name": "Jane Smith", "age": 25, "tags": ["a"]}});
        assert_eq!(
            parse_response::<Person>(&accept),
            Ok(ElicitationResponse::Accept(Person {
                name: "Jane Smith".into(),
                age: 25,
                tags: vec!["a".into()],
            }))
        );
        for (action, expected) in [
            ("decline", ElicitationResponse::Decline),
            ("cancel", ElicitationResponse::Cancel),
        ] {
            assert_eq!(
                parse_response::<Person>(&json!({"action": action})),
                Ok(expected)
            );
        }
        let declined = json!({"action": "decline", "content": {"ignored": true}, "_meta": {}});
        assert_eq!(
            parse_response::<Person>(&declined).map(ElicitationResponse::accepted),
            Ok(None)
        );
        assert_eq!(
            parse_response::<Optional>(&json!({"action": "accept"})),
            Ok(ElicitationResponse::Accept(Optional::default()))
        );
    }

    #[test]
    fn response_errors_name_the_field() {
        let parse = |v: Value| parse_response::<Person>(&v).unwrap_err();
        assert_eq!(
            parse(json!({"action": "accept",
                "content": {"name": "Jane\nSmith", "age": "ten", "tags": []}})),
            "field `age`: invalid type: string \"ten\", expected u8"
        );
        assert_eq!(
            parse(json!({"action": "accept",
                "content": {"age": 3, "name": "Jane", "tags": [1]}})),
            "field `tags`: invalid type: integer `1`, expected a string"
        );
        assert_eq!(
            parse(json!({"action": "accept", "content": {"age": 300, "name": "J"}})),
            "field `age`: invalid value: integer `300`, expected u8"
        );
        assert_eq!(
            parse(json!({"action": "accept", "content": {"name": "Jane"}})),
            "the elicited content: missing field `age`"
        );
        assert_eq!(
            parse(json!({"action": "accept"})),
            "the elicited content: missing field `name`"
        );
        assert_eq!(
            parse(json!({"action": "accept", "content": "Jane"})),
            "the elicitation result's `content` must be an object, not a string"
        );
        assert_eq!(
            parse(json!({"action": "ok"})),
            "the elicitation result's `action` is \"ok\"; expected \"accept\", \"decline\" or \"cancel\""
        );
        assert_eq!(
            parse(json!({})),
            "the elicitation result's `action` is nothing; expected \"accept\", \"decline\" or \"cancel\""
        );
        assert_eq!(
            parse(json!([])),
            "an elicitation result must be an object, not an array"
        );
    }
}
