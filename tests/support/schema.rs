//! A JSON Schema validator for the keywords the official MCP schemas use (`type`,
//! `properties`, `required`, `additionalProperties`, `items`, `maxItems`, `enum`, `const`,
//! `anyOf`, `allOf`, `minimum`, `maximum`, and `$ref` to their own definitions), enough to
//! check messages against `schema.json` of a revision without a general validator.
//! `format` and annotations are ignored; any other keyword is refused, so that a schema using
//! one is not silently half-checked.

use serde_json::{Map, Value};

/// One revision's `schema.json`.
pub struct Schema {
    root: Value,
}

/// Keywords that do not constrain instances.
const ANNOTATIONS: &[&str] = &["description", "$schema", "title", "format", "default"];

impl Schema {
    /// Reads `path`; panics naming it when it cannot be read or is not JSON.
    pub fn load(path: &std::path::Path) -> Schema {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let root = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        Schema { root }
    }

    /// Whether the schema defines `name` (under `$defs` or `definitions`).
    pub fn defines(&self, name: &str) -> bool {
        self.definition(name).is_some()
    }

    fn definition(&self, name: &str) -> Option<&Value> {
        ["$defs", "definitions"]
            .iter()
            .find_map(|d| self.root.get(d).and_then(|defs| defs.get(name)))
    }

    /// Checks `value` against the definition `name`; the error names the JSON pointer (as a URI
    /// fragment: `#/tools/0/name`) of the first violation and what was expected there.
    pub fn validate(&self, name: &str, value: &Value) -> Result<(), String> {
        let def = self
            .definition(name)
            .ok_or_else(|| format!("the schema has no definition {name}"))?;
        self.check(def, value, "#")
    }

    fn resolve(&self, reference: &str) -> Result<&Value, String> {
        let pointer = reference
            .strip_prefix('#')
            .ok_or_else(|| format!("only local references are supported, not {reference}"))?;
        self.root
            .pointer(pointer)
            .ok_or_else(|| format!("unresolved reference {reference}"))
    }

    fn check(&self, schema: &Value, v: &Value, at: &str) -> Result<(), String> {
        let s = match schema {
            Value::Bool(true) => return Ok(()),
            Value::Bool(false) => return Err(format!("{at}: no value is allowed here")),
            Value::Object(s) => s,
            _ => return Err(format!("{at}: the schema is not an object: {schema}")),
        };
        for (k, arg) in s {
            match k.as_str() {
                "$ref" => {
                    let target = self.resolve(arg.as_str().unwrap_or_default())?;
                    self.check(target, v, at)?;
                }
                "type" => check_type(arg, v, at)?,
                "enum" => {
                    let options = arg.as_array().map(Vec::as_slice).unwrap_or_default();
                    if !options.iter().any(|o| same(o, v)) {
                        return Err(format!("{at}: {v} is not one of {arg}"));
                    }
                }
                "const" => {
                    if !same(arg, v) {
                        return Err(format!("{at}: {v} is not {arg}"));
                    }
                }
                "properties" => {
                    if let (Some(props), Some(obj)) = (arg.as_object(), v.as_object()) {
                        for (name, sub) in props {
                            if let Some(x) = obj.get(name) {
                                self.check(sub, x, &format!("{at}/{name}"))?;
                            }
                        }
                    }
                }
                "required" => {
                    if let Some(obj) = v.as_object() {
                        for name in arg.as_array().into_iter().flatten() {
                            let name = name.as_str().unwrap_or_default();
                            if !obj.contains_key(name) {
                                return Err(format!("{at}: `{name}` is required"));
                            }
                        }
                    }
                }
                "additionalProperties" => {
                    if let Some(obj) = v.as_object() {
                        let known = s.get("properties").and_then(Value::as_object);
                        for (name, x) in obj {
                            if !known.is_some_and(|p: &Map<String, Value>| p.contains_key(name)) {
                                self.check(arg, x, &format!("{at}/{name}"))?;
                            }
                        }
                    }
                }
                "items" => {
                    for (i, x) in v.as_array().into_iter().flatten().enumerate() {
                        self.check(arg, x, &format!("{at}/{i}"))?;
                    }
                }
                "maxItems" => {
                    let (Some(items), Some(max)) = (v.as_array(), arg.as_u64()) else {
                        continue;
                    };
                    if items.len() as u64 > max {
                        return Err(format!("{at}: more than {max} items"));
                    }
                }
                "minimum" | "maximum" => {
                    let (Some(x), Some(bound)) = (v.as_f64(), arg.as_f64()) else {
                        continue;
                    };
                    if (k == "minimum" && x < bound) || (k == "maximum" && x > bound) {
                        return Err(format!("{at}: {x} is outside the {k} {bound}"));
                    }
                }
                "anyOf" => {
                    let options = arg.as_array().map(Vec::as_slice).unwrap_or_default();
                    let mut reasons = Vec::new();
                    for o in options {
                        match self.check(o, v, at) {
                            Ok(()) => {
                                reasons.clear();
                                break;
                            }
                            Err(e) => reasons.push(e),
                        }
                    }
                    if !reasons.is_empty() {
                        return Err(format!(
                            "{at}: matches none of anyOf: {}",
                            reasons.join("; ")
                        ));
                    }
                }
                "allOf" => {
                    for o in arg.as_array().into_iter().flatten() {
                        self.check(o, v, at)?;
                    }
                }
                "definitions" | "$defs" => {}
                other if ANNOTATIONS.contains(&other) => {}
                other => return Err(format!("{at}: the keyword `{other}` is not supported")),
            }
        }
        Ok(())
    }
}

/// JSON Schema equality: numbers compare by value (`1` equals `1.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn check_type(t: &Value, v: &Value, at: &str) -> Result<(), String> {
    let ok = |name: &str| match name {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.as_f64().is_some_and(|x| x.fract() == 0.0),
        _ => false,
    };
    let fits = match t {
        Value::String(name) => ok(name),
        Value::Array(names) => names.iter().filter_map(Value::as_str).any(ok),
        _ => false,
    };
    if fits {
        Ok(())
    } else {
        Err(format!("{at}: {v} is not of type {t}"))
    }
}

#[cfg(test)]
mod tests {
    use super::Schema;
    use serde_json::json;

    fn schema() -> Schema {
        Schema {
            root: json!({"$defs": {
                "Thing": {"type": "object", "required": ["kind"], "properties": {
                    "kind": {"const": "thing"},
                    "size": {"type": "integer", "minimum": 0},
                    "tags": {"type": "array", "items": {"$ref": "#/$defs/Tag"}, "maxItems": 2},
                }, "additionalProperties": false},
                "Tag": {"anyOf": [{"type": "string"}, {"enum": [1, 2]}]},
            }}),
        }
    }

    #[test]
    fn accepts_what_fits_and_names_where_it_does_not() {
        let s = schema();
        assert_eq!(
            s.validate(
                "Thing",
                &json!({"kind": "thing", "size": 3.0, "tags": ["a", 2]})
            ),
            Ok(())
        );
        let bad = |v| s.validate("Thing", &v).unwrap_err();
        assert!(bad(json!({})).contains("`kind` is required"));
        assert!(bad(json!({"kind": "other"})).starts_with("#/kind:"));
        assert!(bad(json!({"kind": "thing", "size": -1})).starts_with("#/size:"));
        assert!(bad(json!({"kind": "thing", "size": 1.5})).contains("type"));
        assert!(bad(json!({"kind": "thing", "tags": [true]})).starts_with("#/tags/0:"));
        assert!(bad(json!({"kind": "thing", "tags": ["a", "b", "c"]})).contains("more than 2"));
        assert!(bad(json!({"kind": "thing", "extra": 1})).starts_with("#/extra:"));
        assert!(s.validate("Nothing", &json!({})).is_err());
    }
}
