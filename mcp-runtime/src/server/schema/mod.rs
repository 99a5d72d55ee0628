//! JSON Schemas for tool arguments and results, shaped for what real clients accept.
//!
//! - Draft 2020-12, subschemas inlined (references only for recursive types, under `$defs`).
//! - `Option<T>` is the schema of `T`, made optional by leaving it out of `required`.
//! - The root input schema is always an object.

pub(crate) mod elicitation;
pub(crate) mod form;

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::{JsonSchema, Schema};
use serde_json::{Map, Value};

use crate::protocol::JsonObject;

/// A generator with the settings every tool schema uses.
pub(crate) fn generator(serialize: bool) -> SchemaGenerator {
    let settings = SchemaSettings::draft2020_12().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    });
    let settings = if serialize {
        settings.for_serialize()
    } else {
        settings.for_deserialize()
    };
    settings.into_generator()
}

/// Builds a tool's input schema one argument at a time.
pub struct InputSchemaBuilder {
    generator: SchemaGenerator,
    properties: JsonObject,
    required: Vec<Value>,
}

impl Default for InputSchemaBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// The input schema of a tool given one verbatim with `#[tool(input_schema = f)]`: `f()`'s
/// JSON object, as is. Anything but an object (or one without `"type": "object"`) makes the
/// server refuse to start, naming the tool.
pub fn raw_input_schema(schema: serde_json::Value) -> JsonObject {
    match schema {
        serde_json::Value::Object(m) => m,
        _ => JsonObject::new(),
    }
}

impl InputSchemaBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        InputSchemaBuilder {
            generator: generator(false),
            properties: Map::new(),
            required: Vec::new(),
        }
    }

    /// Adds an argument of type `T`. It is required unless it has a default or accepts `null`.
    pub fn argument<T: JsonSchema>(
        &mut self,
        name: &str,
        description: Option<&str>,
        default: Option<Value>,
        accepts_null: bool,
    ) {
        let mut schema = self.generator.subschema_for::<T>();
        if accepts_null {
            strip_null(&mut schema);
        }
        let mut schema = schema.to_value();
        if !schema.is_object() {
            // `true` schemas (any value) become `{}` so that keywords can be added.
            schema = Value::Object(Map::new());
        }
        let obj = schema.as_object_mut().expect("made an object above");
        if let Some(d) = description {
            obj.insert("description".into(), d.into());
        }
        let optional = default.is_some() || accepts_null;
        if let Some(d) = default {
            obj.insert("default".into(), d);
        }
        if !optional {
            self.required.push(name.into());
        }
        self.properties.insert(name.into(), schema);
    }

    /// Mirrors the argument `name`, added before, into the HTTP header `Mcp-Param-{header}`:
    /// its property gets `"x-mcp-header": header`. Whether its type allows this is checked
    /// when the server builds the tool.
    pub fn header(&mut self, name: &str, header: &str) {
        if let Some(Value::Object(property)) = self.properties.get_mut(name) {
            property.insert(
                crate::protocol::param_headers::ANNOTATION.into(),
                header.into(),
            );
        }
    }

    /// The finished root schema: an object that refuses unknown properties.
    pub fn finish(mut self) -> JsonObject {
        let mut root = Map::new();
        root.insert("type".into(), "object".into());
        root.insert("properties".into(), Value::Object(self.properties));
        if !self.required.is_empty() {
            root.insert("required".into(), Value::Array(self.required));
        }
        root.insert("additionalProperties".into(), false.into());
        let mut defs = self.generator.take_definitions(true);
        if !defs.is_empty() {
            for v in defs.values_mut() {
                if let Ok(s) = <&mut Schema>::try_from(v) {
                    strip_null(s);
                }
            }
            root.insert("$defs".into(), Value::Object(defs));
        }
        root
    }
}

/// The output schema of a structured return type, and whether values are wrapped as
/// `{"result": value}` because the type's schema is not an object.
pub(crate) fn output_schema<T: JsonSchema>() -> (JsonObject, bool) {
    let mut generator = generator(true);
    let mut schema = generator.root_schema_for::<T>().to_value();
    let Value::Object(ref mut obj) = schema else {
        return (wrap(Value::Object(Map::new()), None), true);
    };
    obj.remove("$schema");
    obj.remove("title");
    let defs = obj.remove("$defs");
    let is_object = obj.get("type") == Some(&Value::String("object".into()));
    if is_object {
        let mut obj = std::mem::take(obj);
        if let Some(d) = defs {
            obj.insert("$defs".into(), d);
        }
        (obj, false)
    } else {
        (wrap(schema, defs), true)
    }
}

fn wrap(inner: Value, defs: Option<Value>) -> JsonObject {
    let mut props = Map::new();
    props.insert("result".into(), inner);
    let mut root = Map::new();
    root.insert("type".into(), "object".into());
    root.insert("properties".into(), Value::Object(props));
    root.insert("required".into(), Value::Array(vec!["result".into()]));
    if let Some(d) = defs {
        root.insert("$defs".into(), d);
    }
    root
}

/// Removes the `null` alternative schemars adds for `Option<T>`, at the top of `schema`.
fn strip_null(schema: &mut Schema) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = obj.get_mut("type")
        && types.len() > 1
    {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.pop().expect("one element");
            obj.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum")
        && values.len() > 1
        && values.iter().any(Value::is_null)
    {
        values.retain(|v| !v.is_null());
    }
    let null_alternative = |v: &Value| v.get("type") == Some(&Value::String("null".into()));
    if let Some(Value::Array(any)) = obj.get("anyOf")
        && any.len() == 2
        && any.iter().any(null_alternative)
    {
        let other = any
            .iter()
            .find(|v| !null_alternative(v))
            .cloned()
            .unwrap_or(Value::Object(Map::new()));
        obj.remove("anyOf");
        if let Value::Object(inner) = other {
            for (k, v) in inner {
                obj.entry(k).or_insert(v);
            }
        }
    }
}

/// Rewrites strings that stand for numbers or booleans where `schema` expects those, the way
/// lenient clients and models send them (`"5"`, `"true"`), and strings holding JSON text where
/// it expects an object or an array (`"{\"city\": \"Paris\"}"`, a habit of some model
/// clients). Returns whether anything changed.
pub(crate) fn coerce(value: &mut Value, schema: &Value) -> bool {
    match value {
        Value::String(s) => {
            let wants = |t: &str| schema_allows_type(schema, t);
            if wants("string") {
                return false;
            }
            let s = s.trim();
            let json_text =
                (wants("object") && s.starts_with('{')) || (wants("array") && s.starts_with('['));
            if json_text {
                return match serde_json::from_str::<Value>(s) {
                    Ok(mut parsed) if parsed.is_object() || parsed.is_array() => {
                        coerce(&mut parsed, schema);
                        *value = parsed;
                        true
                    }
                    _ => false,
                };
            }
            let new = if wants("integer") || wants("number") {
                serde_json::from_str::<serde_json::Number>(s)
                    .ok()
                    .map(Value::Number)
            } else {
                None
            };
            let new = new.or_else(|| {
                wants("boolean")
                    .then_some(match s {
                        "true" | "True" | "TRUE" => Some(Value::Bool(true)),
                        "false" | "False" | "FALSE" => Some(Value::Bool(false)),
                        _ => None,
                    })
                    .flatten()
            });
            match new {
                Some(v) => {
                    *value = v;
                    true
                }
                None => false,
            }
        }
        Value::Object(map) => {
            let Some(props) = schema.get("properties").and_then(Value::as_object) else {
                return false;
            };
            let mut changed = false;
            for (k, v) in map.iter_mut() {
                if let Some(s) = props.get(k) {
                    changed |= coerce(v, s);
                }
            }
            changed
        }
        Value::Array(items) => {
            let Some(item_schema) = schema.get("items") else {
                return false;
            };
            let mut changed = false;
            for v in items {
                changed |= coerce(v, item_schema);
            }
            changed
        }
        _ => false,
    }
}

fn schema_allows_type(schema: &Value, wanted: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == wanted,
        Some(Value::Array(ts)) => ts.iter().any(|t| t == wanted),
        _ => false,
    }
}

/// A short phrase for what a schema expects, for error messages: "an integer", "a string".
pub(crate) fn expected_phrase(schema: &Value) -> String {
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let list: Vec<String> = values.iter().map(Value::to_string).collect();
        return format!("one of {}", list.join(", "));
    }
    let one = |t: &str| match t {
        "integer" => "an integer",
        "number" => "a number",
        "string" => "a string",
        "boolean" => "a boolean",
        "array" => "an array",
        "object" => "an object",
        "null" => "null",
        _ => "a value",
    };
    match schema.get("type") {
        Some(Value::String(t)) => one(t).to_string(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(one)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "a value".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn coerces_numbers_and_booleans_sent_as_strings() {
        let schema = json!({"type":"object","properties":{
            "n":{"type":"integer"},"b":{"type":"boolean"},"s":{"type":"string"},
            "list":{"type":"array","items":{"type":"number"}}}});
        let mut v = json!({"n":"5","b":"true","s":"7","list":["1.5","2"]});
        assert!(coerce(&mut v, &schema));
        assert_eq!(v, json!({"n":5,"b":true,"s":"7","list":[1.5,2]}));
        let mut v = json!({"n":"five"});
        assert!(!coerce(&mut v, &schema));
    }

    #[test]
    fn option_schemas_lose_their_null_alternative() {
        let mut b = InputSchemaBuilder::new();
        b.argument::<Option<u32>>("n", None, None, true);
        b.argument::<Option<Vec<String>>>("tags", Some("Tags."), None, true);
        let root = b.finish();
        assert_eq!(root["properties"]["n"]["type"], "integer");
        assert_eq!(root["properties"]["tags"]["type"], "array");
        assert_eq!(root["properties"]["tags"]["description"], "Tags.");
        assert!(root.get("required").is_none());
    }

    #[test]
    fn primitives_are_wrapped_objects_are_not() {
        let (schema, wrapped) = output_schema::<i64>();
        assert!(wrapped);
        assert_eq!(schema["properties"]["result"]["type"], "integer");
        assert_eq!(schema["required"], json!(["result"]));
        let (schema, wrapped) = output_schema::<std::collections::BTreeMap<String, i32>>();
        assert!(!wrapped);
        assert_eq!(schema["type"], "object");
    }
}
