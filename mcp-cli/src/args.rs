//! `key=value` arguments, read by a tool's input schema.

use serde_json::{Map, Value};

/// Follows a local `$ref` (`#/$defs/X` or `#/definitions/X`) against the root schema.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    let mut s = schema;
    for _ in 0..16 {
        match s.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let Some(path) = r.strip_prefix("#/") else {
                    return s;
                };
                let mut at = root;
                for part in path.split('/') {
                    match at.get(part) {
                        Some(next) => at = next,
                        None => return s,
                    }
                }
                s = at;
            }
            None => return s,
        }
    }
    s
}

/// The JSON types a schema allows (empty when it does not say).
fn types(root: &Value, schema: &Value) -> Vec<String> {
    let s = resolve(root, schema);
    let mut out: Vec<String> = match s.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(alts)) = s.get(key) {
            for alt in alts {
                for t in types(root, alt) {
                    if !out.contains(&t) {
                        out.push(t);
                    }
                }
            }
        }
    }
    if out.is_empty()
        && let Some(Value::Array(values)) = s.get("enum")
        && values.iter().all(Value::is_string)
    {
        out.push("string".into());
    }
    out
}

/// The allowed values, when the schema is an enumeration.
fn choices(root: &Value, schema: &Value) -> Option<Vec<Value>> {
    let s = resolve(root, schema);
    if let Some(Value::Array(values)) = s.get("enum") {
        return Some(values.clone());
    }
    if let Some(Value::Array(alts)) = s.get("oneOf").or_else(|| s.get("anyOf")) {
        let consts: Option<Vec<Value>> = alts
            .iter()
            .map(|a| resolve(root, a).get("const").cloned())
            .collect();
        return consts;
    }
    None
}

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn fits(allowed: &[String], v: &Value) -> bool {
    let t = type_of(v);
    allowed
        .iter()
        .any(|a| a == t || (a == "number" && t == "integer"))
}

fn a_or_an(t: &str) -> String {
    match t.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {t}"),
        _ => format!("a {t}"),
    }
}

/// One value, read as the schema's type.
fn coerce(root: &Value, schema: &Value, key: &str, raw: &str) -> Result<Value, String> {
    let allowed = types(root, schema);
    let value = if allowed.is_empty() {
        serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
    } else if allowed.iter().all(|t| t == "string") {
        Value::String(raw.to_string())
    } else {
        match serde_json::from_str::<Value>(raw) {
            Ok(v) if fits(&allowed, &v) => v,
            _ if allowed.iter().any(|t| t == "string") => Value::String(raw.to_string()),
            Ok(v) => {
                return Err(format!(
                    "`{key}` takes {}, but `{raw}` is {}",
                    allowed
                        .iter()
                        .map(|t| a_or_an(t))
                        .collect::<Vec<_>>()
                        .join(" or "),
                    a_or_an(type_of(&v))
                ));
            }
            Err(_) => {
                return Err(format!(
                    "`{key}` takes {} written as JSON, and `{raw}` is not JSON",
                    allowed
                        .iter()
                        .map(|t| a_or_an(t))
                        .collect::<Vec<_>>()
                        .join(" or "),
                ));
            }
        }
    };
    if let Some(choices) = choices(root, schema)
        && !choices.is_empty()
        && !choices.contains(&value)
    {
        return Err(format!(
            "`{key}` must be one of {}, not `{raw}`",
            choices
                .iter()
                .map(|c| c
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| c.to_string()))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(value)
}

/// A short signature for messages: `add(a: integer, b: integer, [note: string])`.
pub(crate) fn signature(name: &str, schema: &Value) -> String {
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let params: Vec<String> = schema["properties"]
        .as_object()
        .map(|props| {
            props
                .iter()
                .map(|(k, s)| {
                    let t = types(schema, s)
                        .into_iter()
                        .filter(|t| t != "null")
                        .collect::<Vec<_>>()
                        .join("|");
                    let p = if t.is_empty() {
                        k.clone()
                    } else {
                        format!("{k}: {t}")
                    };
                    if required.contains(&k.as_str()) {
                        p
                    } else {
                        format!("[{p}]")
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    format!("{name}({})", params.join(", "))
}

/// Builds a tool's arguments from `--args` and `key=value` pairs (which win), checking the
/// names and types against its input schema.
pub(crate) fn tool_arguments(
    tool: &str,
    schema: &Value,
    base: Option<Value>,
    pairs: &[(String, String)],
) -> Result<Value, String> {
    let mut args: Map<String, Value> = match base {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let props = schema["properties"].as_object();
    let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
    for (k, raw) in pairs {
        let prop = props.and_then(|p| p.get(k));
        let value = match prop {
            Some(s) => coerce(schema, s, k, raw)?,
            None if props.is_some_and(|p| !p.is_empty()) || closed => {
                return Err(format!(
                    "tool `{tool}` has no argument `{k}`; it takes {}",
                    signature(tool, schema)
                ));
            }
            None => coerce(schema, &Value::Null, k, raw)?,
        };
        args.insert(k.clone(), value);
    }
    if let Some(required) = schema["required"].as_array() {
        let missing: Vec<&str> = required
            .iter()
            .filter_map(Value::as_str)
            .filter(|r| !args.contains_key(*r))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "tool `{tool}` needs {}; it takes {}",
                missing
                    .iter()
                    .map(|m| format!("`{m}=…`"))
                    .collect::<Vec<_>>()
                    .join(" and "),
                signature(tool, schema)
            ));
        }
    }
    Ok(Value::Object(args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "a": {"type": "integer"},
                "x": {"type": "number"},
                "name": {"type": "string"},
                "on": {"type": ["boolean", "null"]},
                "tags": {"type": "array", "items": {"type": "string"}},
                "unit": {"$ref": "#/$defs/Unit"},
                "any": {}
            },
            "required": ["a"],
            "$defs": {"Unit": {"type": "string", "enum": ["celsius", "kelvin"]}}
        })
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn values_follow_the_schema() {
        let got = tool_arguments(
            "t",
            &schema(),
            Some(json!({"a": 9, "name": "base"})),
            &pairs(&[
                ("a", "3"),
                ("x", "2.5"),
                ("name", "42"),
                ("on", "true"),
                ("tags", r#"["p","q"]"#),
                ("unit", "kelvin"),
                ("any", "plain words"),
            ]),
        )
        .unwrap();
        assert_eq!(
            got,
            json!({"a": 3, "x": 2.5, "name": "42", "on": true, "tags": ["p", "q"],
                   "unit": "kelvin", "any": "plain words"})
        );
    }

    #[test]
    fn mistakes_are_named() {
        let s = schema();
        for (p, says) in [
            (
                pairs(&[("a", "three")]),
                "`a` takes an integer written as JSON",
            ),
            (
                pairs(&[("a", "2.5")]),
                "`a` takes an integer, but `2.5` is a number",
            ),
            (
                pairs(&[("a", "1"), ("unit", "rankine")]),
                "one of celsius, kelvin",
            ),
            (
                pairs(&[("a", "1"), ("b", "1")]),
                "has no argument `b`; it takes t(a: integer",
            ),
            (pairs(&[("x", "1")]), "needs `a=…`"),
        ] {
            let err = tool_arguments("t", &s, None, &p).unwrap_err();
            assert!(err.contains(says), "{p:?}: {err}");
        }
    }

    #[test]
    fn signatures_mark_optional_arguments() {
        let s = json!({"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": ["string", "null"]}}, "required": ["a"]});
        assert_eq!(signature("f", &s), "f(a: integer, [b: string])");
    }

    #[test]
    fn signatures_keep_the_order_of_the_schema() {
        // A tool's properties come in declaration order (mcp-runtime's `preserve-order`);
        // the signature keeps it rather than sorting, so `query` stays before `limit`.
        let s: Value = serde_json::from_str(
            r#"{"type": "object", "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}}, "required": ["query"]}"#,
        )
        .unwrap();
        assert_eq!(
            signature("search", &s),
            "search(query: string, [limit: integer])"
        );
    }
}
