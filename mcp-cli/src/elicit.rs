//! Answering a server's elicitation from the command line: from a file (`--elicit FILE`), or
//! by asking on the terminal, one field at a time.

use std::io::{BufRead, Write};
use std::path::Path;

use mcp_runtime::ServerRequestHandler;
use mcp_runtime::protocol::ErrorObject;
use serde_json::{Map, Value, json};

/// Where the answers come from.
#[derive(Clone, Debug)]
pub(crate) enum Answers {
    /// A JSON file: the form's content (accepted), or a whole result with its `action`.
    File(Value),
    /// The user, on the terminal.
    Terminal,
}

impl Answers {
    /// The answers of `--elicit FILE`.
    pub(crate) fn from_file(path: &Path) -> Result<Answers, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read --elicit {}: {e}", path.display()))?;
        let value: Value = serde_json::from_str(&text)
            .map_err(|e| format!("--elicit {} is not JSON: {e}", path.display()))?;
        if !value.is_object() {
            return Err(format!(
                "--elicit {} must hold a JSON object: the form's content, or {{\"action\": …, \"content\": …}}",
                path.display()
            ));
        }
        Ok(Answers::File(value))
    }
}

/// The client's answer to `elicitation/create` (and a refusal of anything else it did not
/// declare).
pub(crate) fn handler(answers: Answers) -> ServerRequestHandler {
    ServerRequestHandler::new(move |method, params| {
        let answers = answers.clone();
        Box::pin(async move {
            if method != "elicitation/create" {
                return Err(ErrorObject::method_not_found(&method));
            }
            if params["mode"] == "url" {
                return Ok(json!({"action": "decline"}));
            }
            match answers {
                Answers::File(v) if v.get("action").is_some() => Ok(v),
                Answers::File(content) => Ok(json!({"action": "accept", "content": content})),
                Answers::Terminal => tokio::task::spawn_blocking(move || {
                    let stdin = std::io::stdin();
                    ask(&params, &mut stdin.lock(), &mut std::io::stderr())
                })
                .await
                .map_err(|e| ErrorObject::internal(format!("the prompt failed: {e}")))?
                .map_err(|e| ErrorObject::internal(format!("cannot read the answer: {e}"))),
            }
        })
    })
}

/// Asks for each field of the form on `out`, reading the answers from `input`. An empty
/// answer takes the default, or leaves an optional field out; `!decline` and `!cancel` (or
/// the end of input) end the form so.
pub(crate) fn ask(
    params: &Value,
    input: &mut impl BufRead,
    out: &mut impl Write,
) -> std::io::Result<Value> {
    let schema = &params["requestedSchema"];
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    writeln!(
        out,
        "{}",
        params["message"].as_str().unwrap_or("The server asks:")
    )?;
    writeln!(
        out,
        "(an empty answer takes the default; !decline or !cancel to refuse)"
    )?;
    let mut content = Map::new();
    let empty = Map::new();
    for (name, field) in schema["properties"].as_object().unwrap_or(&empty) {
        let is_required = required.contains(&name.as_str());
        loop {
            let label = field["title"].as_str().unwrap_or(name);
            let mut hint = field["type"].as_str().unwrap_or("value").to_string();
            if let Some(options) = field["enum"].as_array() {
                let list: Vec<String> = options
                    .iter()
                    .map(|o| o.as_str().map_or(o.to_string(), str::to_string))
                    .collect();
                hint = format!("one of {}", list.join(", "));
            }
            if let Some(d) = field.get("default") {
                hint.push_str(&format!(", default {d}"));
            } else if !is_required {
                hint.push_str(", optional");
            }
            write!(out, "{label} ({hint}): ")?;
            out.flush()?;
            let mut line = String::new();
            if input.read_line(&mut line)? == 0 {
                return Ok(json!({"action": "cancel"}));
            }
            let answer = line.trim();
            match answer {
                "!decline" => return Ok(json!({"action": "decline"})),
                "!cancel" => return Ok(json!({"action": "cancel"})),
                "" => {
                    if let Some(d) = field.get("default") {
                        content.insert(name.clone(), d.clone());
                        break;
                    }
                    if !is_required {
                        break;
                    }
                    writeln!(out, "  `{name}` is required")?;
                }
                text => match value_of(field, text) {
                    Ok(v) => {
                        content.insert(name.clone(), v);
                        break;
                    }
                    Err(e) => writeln!(out, "  {e}")?,
                },
            }
        }
    }
    Ok(json!({"action": "accept", "content": content}))
}

/// The typed value of an answer, as the field's schema wants it.
fn value_of(field: &Value, text: &str) -> Result<Value, String> {
    if let Some(options) = field["enum"].as_array() {
        return options
            .iter()
            .find(|o| o.as_str() == Some(text))
            .cloned()
            .ok_or_else(|| format!("`{text}` is not one of the choices"));
    }
    match field["type"].as_str() {
        Some("boolean") => match text.to_ascii_lowercase().as_str() {
            "y" | "yes" | "true" => Ok(Value::Bool(true)),
            "n" | "no" | "false" => Ok(Value::Bool(false)),
            _ => Err("answer yes or no".into()),
        },
        Some("integer") => text
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("`{text}` is not an integer")),
        Some("number") => text
            .parse::<f64>()
            .ok()
            .and_then(|n| serde_json::Number::from_f64(n).map(Value::Number))
            .ok_or_else(|| format!("`{text}` is not a number")),
        _ => Ok(Value::String(text.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_is_asked_field_by_field_with_types_defaults_and_retries() {
        let params = json!({
            "message": "Book a table",
            "requestedSchema": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "title": "Your name"},
                    "guests": {"type": "integer"},
                    "seating": {"type": "string", "enum": ["inside", "terrace"]},
                    "reminder": {"type": "boolean", "default": false},
                    "note": {"type": "string"}
                },
                "required": ["name", "guests", "seating"]
            }
        });
        let mut input = "Ada\nmany\n4\n\nterrace\n\n\n".as_bytes();
        let mut out = Vec::new();
        let answer = ask(&params, &mut input, &mut out).unwrap();
        assert_eq!(
            answer,
            json!({"action": "accept", "content": {"name": "Ada", "guests": 4, "seating": "terrace", "reminder": false}})
        );
        let shown = String::from_utf8(out).unwrap();
        assert!(shown.starts_with("Book a table\n"), "{shown}");
        assert!(shown.contains("Your name (string): "), "{shown}");
        assert!(shown.contains("`many` is not an integer"), "{shown}");
        assert!(shown.contains("`seating` is required"), "{shown}");
        assert!(
            shown.contains("seating (one of inside, terrace): "),
            "{shown}"
        );
        assert!(
            shown.contains("reminder (boolean, default false): "),
            "{shown}"
        );

        let mut input = "!decline\n".as_bytes();
        let answer = ask(&params, &mut input, &mut Vec::new()).unwrap();
        assert_eq!(answer, json!({"action": "decline"}));
        let answer = ask(&params, &mut "".as_bytes(), &mut Vec::new()).unwrap();
        assert_eq!(
            answer,
            json!({"action": "cancel"}),
            "the end of input cancels"
        );
    }
}
