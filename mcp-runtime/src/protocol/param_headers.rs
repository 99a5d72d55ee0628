//! Tool arguments mirrored into HTTP headers (`x-mcp-header`, MCP 2026-07-28).
//!
//! A property of a tool's input schema carrying `"x-mcp-header": "Region"` asks clients on
//! Streamable HTTP to send that argument's value in an `Mcp-Param-Region` header too, so that
//! load balancers and proxies can route on it without reading the body. The server then checks
//! that every such header agrees with the body: a request whose header and body disagree is
//! refused (HTTP 400, JSON-RPC `-32020` HeaderMismatch), since an intermediary may have acted on
//! the header while the tool runs on the body.
//!
//! Header values are plain ASCII text, or `=?base64?{standard padded base64 of UTF-8}?=` for
//! values that plain text cannot carry.

use serde_json::{Number, Value};

use crate::protocol::{JsonObject, base64};

/// The schema keyword naming an argument's header.
pub(crate) const ANNOTATION: &str = "x-mcp-header";
/// What every mirrored argument's header name starts with.
pub(crate) const HEADER_PREFIX: &str = "Mcp-Param-";

const BASE64_PREFIX: &str = "=?base64?";
const BASE64_SUFFIX: &str = "?=";

/// Property types a header can mirror.
const MIRRORABLE_TYPES: [&str; 3] = ["string", "integer", "boolean"];

/// Whether `name` is an RFC 9110 token (`1*tchar`), as a header field name must be.
pub(crate) fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'!' | b'#'
                        | b'$'
                        | b'%'
                        | b'&'
                        | b'\''
                        | b'*'
                        | b'+'
                        | b'-'
                        | b'.'
                        | b'^'
                        | b'_'
                        | b'`'
                        | b'|'
                        | b'~'
                )
        })
}

/// The mirrored arguments of a tool: `(property, header name)` for every top-level property
/// of `input_schema` whose schema has a string `x-mcp-header`, in schema order. The header sent
/// is `Mcp-Param-{header name}`.
pub(crate) fn header_params(input_schema: &JsonObject) -> Vec<(String, String)> {
    let Some(properties) = input_schema.get("properties").and_then(Value::as_object) else {
        return Vec::new();
    };
    properties
        .iter()
        .filter_map(|(property, schema)| {
            let header = schema.get(ANNOTATION)?.as_str()?;
            Some((property.clone(), header.to_string()))
        })
        .collect()
}

/// Checks every `x-mcp-header` annotation of `input_schema`: each is a token, unique
/// regardless of case, and on a top-level property whose type is `string`, `integer` or
/// `boolean`. An annotation anywhere else (nested properties, `items`, `anyOf`, `$defs`…) is
/// refused too, since only top-level arguments are compared with their headers.
pub(crate) fn check_annotations(input_schema: &JsonObject) -> Result<(), String> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for (key, value) in input_schema {
        if key == ANNOTATION {
            return Err(format!(
                "`{ANNOTATION}` is on the root of the input schema; it belongs on a top-level property"
            ));
        }
        if key != "properties" {
            if let Some(at) = find_annotation(value, format!("/{key}"), key) {
                return Err(misplaced(&at));
            }
            continue;
        }
        let Some(properties) = value.as_object() else {
            continue;
        };
        for (property, schema) in properties {
            let Some(schema) = schema.as_object() else {
                continue;
            };
            for (k, v) in schema {
                if k != ANNOTATION
                    && let Some(at) = find_annotation(v, format!("/properties/{property}/{k}"), k)
                {
                    return Err(misplaced(&at));
                }
            }
            let Some(header) = schema.get(ANNOTATION) else {
                continue;
            };
            let Some(header) = header.as_str() else {
                return Err(format!(
                    "argument `{property}`: `{ANNOTATION}` must be a string, not {header}"
                ));
            };
            if !is_token(header) {
                return Err(format!(
                    "argument `{property}`: `{ANNOTATION}` {header:?} is not a header name; use 1 or more of ASCII letters, digits and {TCHAR_SYMBOLS}"
                ));
            }
            if let Some((other, _)) = seen.iter().find(|(_, h)| h.eq_ignore_ascii_case(header)) {
                return Err(format!(
                    "arguments `{other}` and `{property}` are both mirrored into header `{HEADER_PREFIX}{header}` (header names ignore case)"
                ));
            }
            check_type(property, header, schema.get("type"))?;
            seen.push((property, header));
        }
    }
    Ok(())
}

/// The symbols a token may contain besides letters and digits, for messages.
pub(crate) const TCHAR_SYMBOLS: &str = "! # $ % & ' * + - . ^ _ ` | ~";

fn check_type(property: &str, header: &str, ty: Option<&Value>) -> Result<(), String> {
    let single = match ty {
        Some(Value::String(t)) => Some(t.as_str()),
        // `["string", "null"]`: a null value is mirrored by leaving the header out.
        Some(Value::Array(types)) => {
            let mut non_null = types.iter().filter(|t| t.as_str() != Some("null"));
            match (non_null.next(), non_null.next()) {
                (Some(Value::String(t)), None) => Some(t.as_str()),
                _ => None,
            }
        }
        _ => None,
    };
    if single.is_some_and(|t| MIRRORABLE_TYPES.contains(&t)) {
        return Ok(());
    }
    let found = match ty {
        Some(t) => format!("its schema has `\"type\": {t}`"),
        None => "its schema has no `type`".to_string(),
    };
    Err(format!(
        "argument `{property}` is mirrored into header `{HEADER_PREFIX}{header}`, but only string, integer and boolean arguments can be; {found}"
    ))
}

fn misplaced(at: &str) -> String {
    format!(
        "`{ANNOTATION}` at `{at}` is not on a top-level property; only top-level arguments can be mirrored into headers"
    )
}

/// Where `x-mcp-header` is used as a keyword inside `value`, the value of keyword `key` of a
/// schema; `at` is the JSON pointer of `value`.
fn find_annotation(value: &Value, at: String, key: &str) -> Option<String> {
    match key {
        // Instance data, not schemas.
        "enum" | "const" | "default" | "examples" => None,
        // Maps from names to schemas: the names are not keywords.
        "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => value
            .as_object()?
            .iter()
            .find_map(|(name, schema)| find_in_schema(schema, format!("{at}/{name}"))),
        _ => match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, schema)| find_in_schema(schema, format!("{at}/{i}"))),
            Value::Object(_) => find_in_schema(value, at),
            _ => None,
        },
    }
}

fn find_in_schema(schema: &Value, at: String) -> Option<String> {
    let schema = schema.as_object()?;
    if schema.contains_key(ANNOTATION) {
        return Some(at);
    }
    schema
        .iter()
        .find_map(|(k, v)| find_annotation(v, format!("{at}/{k}"), k))
}

/// A header value as sent: optional white space around it removed, then `=?base64?…?=`
/// decoded (strict padded base64, of UTF-8 text); any other value is taken literally. A value
/// with a character a header cannot carry (anything but visible ASCII, space and tab) is
/// refused. A literal value is borrowed.
pub(crate) fn decode_header_value(raw: &str) -> Result<std::borrow::Cow<'_, str>, String> {
    let value = raw.trim_matches([' ', '\t']);
    if let Some(c) = value
        .chars()
        .find(|&c| !(c == ' ' || c == '\t' || c.is_ascii_graphic()))
    {
        return Err(format!(
            "contains {c:?}; a header value is visible ASCII, spaces and tabs (other text is sent as `{BASE64_PREFIX}…{BASE64_SUFFIX}`)"
        ));
    }
    let encoded = value
        .strip_prefix(BASE64_PREFIX)
        .and_then(|rest| rest.strip_suffix(BASE64_SUFFIX));
    let Some(encoded) = encoded else {
        return Ok(std::borrow::Cow::Borrowed(value));
    };
    let bytes = base64::decode_strict(encoded)
        .map_err(|e| format!("{value:?} is not valid `{BASE64_PREFIX}…{BASE64_SUFFIX}`: {e}"))?;
    String::from_utf8(bytes)
        .map(std::borrow::Cow::Owned)
        .map_err(|_| format!("{value:?} does not decode to UTF-8 text"))
}

/// Checks a `tools/call`'s `Mcp-Param-*` headers against its arguments. `params` is the tool's
/// [`header_params`]; `header(name)` returns the value of header `Mcp-Param-{name}`, looked up
/// regardless of case, or `None` when the request does not have it.
///
/// Each mirrored argument that is present and not `null` needs its header, with the same value
/// once decoded: the same text for a string, the same number for an integer (`42` and `42.0`
/// agree), `true` or `false` for a boolean. An argument that is absent or `null` needs its
/// header absent. The error says which argument and header disagree, and how.
pub(crate) fn check_param_headers(
    params: &[(String, String)],
    arguments: &JsonObject,
    header: impl Fn(&str) -> Option<String>,
) -> Result<(), String> {
    for (property, name) in params {
        let value = arguments.get(property);
        match (value.filter(|v| !v.is_null()), header(name)) {
            (None, None) => {}
            (None, Some(raw)) => {
                let state = if value.is_some() { "null" } else { "absent" };
                return Err(format!(
                    "header `{HEADER_PREFIX}{name}` is {raw:?} but argument `{property}` is {state}; the header must be left out when the argument is"
                ));
            }
            (Some(v), None) => {
                return Err(format!(
                    "header `{HEADER_PREFIX}{name}` is missing but argument `{property}` is {v}; the header must carry the argument's value"
                ));
            }
            (Some(v), Some(raw)) => {
                let text = decode_header_value(&raw)
                    .map_err(|e| format!("header `{HEADER_PREFIX}{name}`: {e}"))?;
                if !agrees(v, &text) {
                    return Err(format!(
                        "header `{HEADER_PREFIX}{name}` is {} but argument `{property}` is {v}",
                        Value::String(text.into_owned())
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Whether a decoded header value stands for the argument `value`.
fn agrees(value: &Value, text: &str) -> bool {
    match value {
        Value::String(s) => s == text,
        Value::Bool(b) => text == if *b { "true" } else { "false" },
        Value::Number(n) => {
            serde_json::from_str::<Number>(text).is_ok_and(|h| numbers_equal(n, &h))
        }
        Value::Null | Value::Array(_) | Value::Object(_) => false,
    }
}

fn numbers_equal(a: &Number, b: &Number) -> bool {
    let exact = |n: &Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (exact(a), exact(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a.as_f64().is_some_and(|x| b.as_f64() == Some(x)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(v: Value) -> JsonObject {
        v.as_object().cloned().expect("an object")
    }

    /// The conformance fixture: `value: string`, mirrored as `Value`.
    fn fixture() -> Vec<(String, String)> {
        vec![("value".into(), "Value".into())]
    }

    /// Looks headers up the way an HTTP layer does: `Mcp-Param-{name}`, ignoring case.
    fn headers<'a>(list: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            let wanted = format!("{HEADER_PREFIX}{name}");
            list.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(&wanted))
                .map(|(_, v)| v.to_string())
        }
    }

    fn check(arguments: Value, list: &[(&str, &str)]) -> Result<(), String> {
        check_param_headers(&fixture(), &object(arguments), headers(list))
    }

    #[test]
    fn tokens_are_tchar_only() {
        for ok in [
            "Value",
            "Region",
            "a",
            "X-Tenant_Id.2",
            "!#$%&'*+-.^_`|~09AZaz",
        ] {
            assert!(is_token(ok), "{ok:?}");
        }
        for bad in [
            "",
            "Two Words",
            "a:b",
            "a/b",
            "a\r",
            "a\n",
            "é",
            "(x)",
            "a\"b",
            "a,b",
        ] {
            assert!(!is_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn header_params_reads_top_level_properties_in_order() {
        let schema = object(json!({
            "type": "object",
            "properties": {
                "region": {"type": "string", "x-mcp-header": "Region"},
                "query": {"type": "string"},
                "shard": {"type": "integer", "x-mcp-header": "Shard"},
                "nested": {
                    "type": "object",
                    "properties": {"inner": {"type": "string", "x-mcp-header": "Inner"}}
                }
            }
        }));
        assert_eq!(
            header_params(&schema),
            [
                ("region".to_string(), "Region".to_string()),
                ("shard".to_string(), "Shard".to_string())
            ]
        );
        assert!(header_params(&object(json!({"type": "object"}))).is_empty());
    }

    #[test]
    fn annotations_on_primitive_top_level_properties_are_accepted() {
        let schema = object(json!({
            "type": "object",
            "properties": {
                "region": {"type": "string", "x-mcp-header": "Region"},
                "shard": {"type": "integer", "x-mcp-header": "Shard"},
                "dry": {"type": "boolean", "x-mcp-header": "Dry-Run"},
                "tenant": {"type": ["string", "null"], "x-mcp-header": "Tenant"},
                // A property named like the keyword, and the keyword's text as data.
                "x-mcp-header": {"type": "string", "enum": [{"x-mcp-header": "A"}]}
            }
        }));
        assert_eq!(check_annotations(&schema), Ok(()));
    }

    #[test]
    fn a_number_property_cannot_be_mirrored() {
        let schema = object(json!({
            "type": "object",
            "properties": {"amount": {"type": "number", "x-mcp-header": "Amount"}}
        }));
        assert_eq!(
            check_annotations(&schema).unwrap_err(),
            "argument `amount` is mirrored into header `Mcp-Param-Amount`, but only string, integer and boolean arguments can be; its schema has `\"type\": \"number\"`"
        );
        for ty in [
            json!({"type": "array", "items": {"type": "string"}}),
            json!({"type": "object"}),
            json!({"type": ["string", "integer"]}),
            json!({"enum": ["a", "b"]}),
        ] {
            let mut prop = object(ty);
            prop.insert(ANNOTATION.into(), "P".into());
            let schema = object(json!({"type": "object", "properties": {"p": prop}}));
            let e = check_annotations(&schema).unwrap_err();
            assert!(e.starts_with("argument `p` is mirrored"), "{e}");
        }
    }

    #[test]
    fn bad_and_duplicate_header_names_are_refused() {
        let schema = object(json!({
            "type": "object",
            "properties": {"a": {"type": "string", "x-mcp-header": "Two Words"}}
        }));
        let e = check_annotations(&schema).unwrap_err();
        assert!(e.contains("\"Two Words\" is not a header name"), "{e}");
        let schema = object(json!({
            "type": "object",
            "properties": {"a": {"type": "string", "x-mcp-header": ""}}
        }));
        assert!(check_annotations(&schema).is_err());
        let schema = object(json!({
            "type": "object",
            "properties": {"a": {"type": "string", "x-mcp-header": 7}}
        }));
        assert_eq!(
            check_annotations(&schema).unwrap_err(),
            "argument `a`: `x-mcp-header` must be a string, not 7"
        );
        let schema = object(json!({
            "type": "object",
            "properties": {
                "a": {"type": "string", "x-mcp-header": "Region"},
                "b": {"type": "string", "x-mcp-header": "REGION"}
            }
        }));
        assert_eq!(
            check_annotations(&schema).unwrap_err(),
            "arguments `a` and `b` are both mirrored into header `Mcp-Param-REGION` (header names ignore case)"
        );
    }

    #[test]
    fn annotations_off_the_top_level_properties_are_refused() {
        let cases = [
            (json!({"type": "object", "x-mcp-header": "Root"}), None),
            (
                json!({"type": "object", "properties": {"o": {"type": "object",
                    "properties": {"i": {"type": "string", "x-mcp-header": "I"}}}}}),
                Some("/properties/o/properties/i"),
            ),
            (
                json!({"type": "object", "properties": {"l": {"type": "array",
                    "items": {"type": "string", "x-mcp-header": "L"}}}}),
                Some("/properties/l/items"),
            ),
            (
                json!({"type": "object", "properties": {"u": {"anyOf": [
                    {"type": "string"}, {"type": "integer", "x-mcp-header": "U"}]}}}),
                Some("/properties/u/anyOf/1"),
            ),
            (
                json!({"type": "object", "$defs": {"D": {"type": "string", "x-mcp-header": "D"}}}),
                Some("/$defs/D"),
            ),
            (
                json!({"type": "object", "if": {"properties": {"a": {"x-mcp-header": "A"}}}}),
                Some("/if/properties/a"),
            ),
        ];
        for (schema, at) in cases {
            let e = check_annotations(&object(schema.clone())).unwrap_err();
            match at {
                Some(at) => assert_eq!(e, misplaced(at), "{schema}"),
                None => assert!(e.contains("root of the input schema"), "{e}"),
            }
        }
    }

    #[test]
    fn decoding_plain_and_base64_values() {
        assert_eq!(decode_header_value("us-west1").unwrap(), "us-west1");
        assert_eq!(decode_header_value("=?base64?SGVsbG8=?=").unwrap(), "Hello");
        assert_eq!(
            decode_header_value("=?base64?SGVsbG8sIOS4lueVjA==?=").unwrap(),
            "Hello, 世界"
        );
        assert_eq!(
            decode_header_value("=?base64?IHBhZGRlZCA=?=").unwrap(),
            " padded "
        );
        assert_eq!(
            decode_header_value("=?base64?bGluZTEKbGluZTI=?=").unwrap(),
            "line1\nline2"
        );
        assert_eq!(
            decode_header_value("=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=").unwrap(),
            "=?base64?literal?="
        );
        assert_eq!(decode_header_value("=?base64??=").unwrap(), "");
        // Optional white space around the value is not part of it.
        assert_eq!(decode_header_value(" \tus-west1 \t").unwrap(), "us-west1");
        assert_eq!(
            decode_header_value("  =?base64?SGVsbG8=?= ").unwrap(),
            "Hello"
        );
        assert_eq!(decode_header_value("a b").unwrap(), "a b");
    }

    #[test]
    fn values_lacking_a_marker_are_literal() {
        for literal in [
            "SGVsbG8=?=",
            "=?base64?SGVsbG8=",
            "=?BASE64?SGVsbG8=?=",
            "=?base64?=",
            "?=",
            "=?base64?",
        ] {
            assert_eq!(decode_header_value(literal).unwrap(), literal);
        }
    }

    #[test]
    fn bad_base64_and_bad_characters_are_refused() {
        for bad in [
            "=?base64?SGVsbG8?=",
            "=?base64?SGVs!!!bG8=?=",
            "=?base64?SGVs bG8=?=",
            "=?base64?SGVsbG8==?=",
            // Valid base64 of bytes that are not UTF-8.
            "=?base64?/w==?=",
        ] {
            assert!(decode_header_value(bad).is_err(), "{bad:?}");
        }
        for bad in ["caf\u{e9}", "a\u{0}b", "a\rb", "a\nb", "a\u{7f}"] {
            let e = decode_header_value(bad).unwrap_err();
            assert!(e.contains("a header value is visible ASCII"), "{e}");
        }
    }

    #[test]
    fn conformance_base64_value_is_accepted() {
        let ok = check(
            json!({"value": "Hello"}),
            &[("Mcp-Param-Value", "=?base64?SGVsbG8=?=")],
        );
        assert_eq!(ok, Ok(()));
    }

    #[test]
    fn conformance_bad_padding_and_bad_characters_are_refused() {
        let e = check(
            json!({"value": "Hello"}),
            &[("Mcp-Param-Value", "=?base64?SGVsbG8?=")],
        )
        .unwrap_err();
        assert!(e.starts_with("header `Mcp-Param-Value`: "), "{e}");
        assert!(e.contains("padded"), "{e}");
        let e = check(
            json!({"value": "Hello"}),
            &[("Mcp-Param-Value", "=?base64?SGVs!!!bG8=?=")],
        )
        .unwrap_err();
        assert!(e.contains("invalid base64 character '!'"), "{e}");
    }

    #[test]
    fn conformance_values_lacking_a_marker_compare_literally() {
        for literal in ["=?base64?SGVsbG8=", "SGVsbG8=?="] {
            assert_eq!(
                check(json!({"value": literal}), &[("Mcp-Param-Value", literal)]),
                Ok(())
            );
            assert_eq!(
                check(json!({"value": "Hello"}), &[("Mcp-Param-Value", literal)]).unwrap_err(),
                format!(
                    "header `Mcp-Param-Value` is {} but argument `value` is \"Hello\"",
                    Value::String(literal.into())
                )
            );
        }
    }

    #[test]
    fn conformance_missing_header_is_refused() {
        assert_eq!(
            check(json!({"value": "Hello"}), &[]).unwrap_err(),
            "header `Mcp-Param-Value` is missing but argument `value` is \"Hello\"; the header must carry the argument's value"
        );
    }

    #[test]
    fn a_different_string_is_a_mismatch() {
        assert_eq!(
            check(json!({"value": "Hello"}), &[("Mcp-Param-Value", "Hi")]).unwrap_err(),
            "header `Mcp-Param-Value` is \"Hi\" but argument `value` is \"Hello\""
        );
        // Values are case-sensitive.
        assert!(check(json!({"value": "Hello"}), &[("Mcp-Param-Value", "hello")]).is_err());
        assert_eq!(
            check(json!({"value": "Hello"}), &[("Mcp-Param-Value", "Hello")]),
            Ok(())
        );
    }

    #[test]
    fn header_names_are_looked_up_regardless_of_case() {
        for name in ["mcp-param-value", "MCP-PARAM-VALUE", "Mcp-Param-value"] {
            assert_eq!(
                check(json!({"value": "Hello"}), &[(name, "Hello")]),
                Ok(()),
                "{name}"
            );
        }
    }

    #[test]
    fn white_space_around_a_header_value_is_ignored() {
        assert_eq!(
            check(
                json!({"value": "Hello"}),
                &[("Mcp-Param-Value", "  Hello\t")]
            ),
            Ok(())
        );
        // Leading or trailing spaces in the value itself travel base64-encoded.
        assert_eq!(
            check(
                json!({"value": " padded "}),
                &[("Mcp-Param-Value", "=?base64?IHBhZGRlZCA=?=")]
            ),
            Ok(())
        );
        assert!(
            check(
                json!({"value": " padded "}),
                &[("Mcp-Param-Value", " padded ")]
            )
            .is_err()
        );
    }

    #[test]
    fn null_or_absent_arguments_need_the_header_absent() {
        assert_eq!(check(json!({}), &[]), Ok(()));
        assert_eq!(check(json!({"value": null}), &[]), Ok(()));
        assert_eq!(
            check(json!({}), &[("Mcp-Param-Value", "Hello")]).unwrap_err(),
            "header `Mcp-Param-Value` is \"Hello\" but argument `value` is absent; the header must be left out when the argument is"
        );
        let e = check(json!({"value": null}), &[("Mcp-Param-Value", "null")]).unwrap_err();
        assert!(e.contains("argument `value` is null"), "{e}");
    }

    #[test]
    fn integers_compare_numerically() {
        let params = vec![("shard".to_string(), "Shard".to_string())];
        let run = |body: Value, header: &str| {
            check_param_headers(
                &params,
                &object(json!({ "shard": body })),
                headers(&[("Mcp-Param-Shard", header)]),
            )
        };
        assert_eq!(run(json!(42), "42"), Ok(()));
        assert_eq!(run(json!(42), "42.0"), Ok(()));
        assert_eq!(run(json!(42), "4.2e1"), Ok(()));
        assert_eq!(run(json!(-7), "-7"), Ok(()));
        assert_eq!(run(json!(42.0), "42"), Ok(()));
        assert_eq!(run(json!(u64::MAX), &u64::MAX.to_string()), Ok(()));
        assert_eq!(run(json!(9007199254740991_i64), "9007199254740991"), Ok(()));
        assert_eq!(
            run(json!(42), "43").unwrap_err(),
            "header `Mcp-Param-Shard` is \"43\" but argument `shard` is 42"
        );
        assert!(run(json!(9007199254740993_i64), "9007199254740992").is_err());
        for not_a_number in ["forty-two", "", "+42", "042", "0x2a", "42abc"] {
            assert!(run(json!(42), not_a_number).is_err(), "{not_a_number:?}");
        }
        assert!(run(json!(42), "=?base64?NDI=?=").is_ok());
    }

    #[test]
    fn booleans_compare_as_true_or_false() {
        let params = vec![("dry".to_string(), "Dry-Run".to_string())];
        let run = |body: Value, header: &str| {
            check_param_headers(
                &params,
                &object(json!({ "dry": body })),
                headers(&[("mcp-param-dry-run", header)]),
            )
        };
        assert_eq!(run(json!(true), "true"), Ok(()));
        assert_eq!(run(json!(false), "false"), Ok(()));
        assert!(run(json!(true), "false").is_err());
        assert!(run(json!(true), "True").is_err());
        assert!(run(json!(true), "1").is_err());
        assert!(run(json!(false), "").is_err());
    }

    #[test]
    fn every_mirrored_argument_is_checked() {
        let params = vec![
            ("region".to_string(), "Region".to_string()),
            ("shard".to_string(), "Shard".to_string()),
        ];
        let arguments = object(json!({"region": "eu", "shard": 3, "query": "SELECT 1"}));
        assert_eq!(
            check_param_headers(
                &params,
                &arguments,
                headers(&[("Mcp-Param-Region", "eu"), ("Mcp-Param-Shard", "3")])
            ),
            Ok(())
        );
        let e = check_param_headers(&params, &arguments, headers(&[("Mcp-Param-Region", "eu")]))
            .unwrap_err();
        assert!(e.starts_with("header `Mcp-Param-Shard` is missing"), "{e}");
        // Headers for arguments that are not mirrored are not looked at.
        assert_eq!(check_param_headers(&[], &arguments, |_| panic!()), Ok(()));
    }

    #[test]
    fn arrays_and_objects_never_agree_with_a_header() {
        assert!(check(json!({"value": ["Hello"]}), &[("Mcp-Param-Value", "Hello")]).is_err());
        assert!(
            check(
                json!({"value": {"a": 1}}),
                &[("Mcp-Param-Value", "{\"a\":1}")]
            )
            .is_err()
        );
    }
}
