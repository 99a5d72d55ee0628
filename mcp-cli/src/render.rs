//! Human-readable output of lists, tool results, resource contents and prompts.

use std::fmt::Write as _;

use serde_json::Value;

use crate::args::signature;

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// The first paragraph, on one line (doc comments wrap their sentences).
fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Two columns, the first padded to the widest entry.
fn columns(rows: &[(String, String)]) -> String {
    let width = rows
        .iter()
        .map(|(a, _)| a.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (a, b) in rows {
        if b.is_empty() {
            let _ = writeln!(out, "{a}");
        } else {
            let pad = width - a.chars().count();
            let _ = writeln!(out, "{a}{}  {b}", " ".repeat(pad));
        }
    }
    out
}

pub(crate) fn tools(tools: &[Value]) -> String {
    let rows: Vec<(String, String)> = tools
        .iter()
        .map(|t| {
            (
                signature(s(t, "name"), &t["inputSchema"]),
                first_line(s(t, "description")),
            )
        })
        .collect();
    columns(&rows)
}

pub(crate) fn resources(resources: &[Value]) -> String {
    let rows: Vec<(String, String)> = resources
        .iter()
        .map(|r| {
            let mut about = s(r, "title").to_string();
            if about.is_empty() {
                about = s(r, "name").to_string();
            }
            if !s(r, "mimeType").is_empty() {
                let _ = write!(about, " ({})", s(r, "mimeType"));
            }
            let d = first_line(s(r, "description"));
            if !d.is_empty() {
                let _ = write!(about, ": {d}");
            }
            (s(r, "uri").to_string(), about)
        })
        .collect();
    columns(&rows)
}

pub(crate) fn templates(templates: &[Value]) -> String {
    let rows: Vec<(String, String)> = templates
        .iter()
        .map(|r| {
            let d = first_line(s(r, "description"));
            let about = if d.is_empty() {
                s(r, "name").to_string()
            } else {
                format!("{}: {d}", s(r, "name"))
            };
            (s(r, "uriTemplate").to_string(), about)
        })
        .collect();
    columns(&rows)
}

/// `inspect` without `--json`: who the server is, what it can do, and what it lists.
pub(crate) fn summary(m: &Value) -> String {
    let info = &m["serverInfo"];
    let mut out = format!("{} {}", s(info, "name"), s(info, "version"));
    if !s(info, "title").is_empty() {
        let _ = write!(out, " ({})", s(info, "title"));
    }
    let _ = writeln!(out, ", protocol {}", s(m, "protocolVersion"));
    let instructions = first_line(s(m, "instructions"));
    if !instructions.is_empty() {
        let _ = writeln!(out, "Instructions: {instructions}");
    }
    if let Some(caps) = m["capabilities"].as_object() {
        let list: Vec<String> = caps
            .iter()
            .map(|(k, v)| {
                let flags: Vec<&str> = v
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .filter(|(_, f)| **f == Value::Bool(true))
                            .map(|(f, _)| f.as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                if flags.is_empty() {
                    k.clone()
                } else {
                    format!("{k} ({})", flags.join(", "))
                }
            })
            .collect();
        let _ = writeln!(out, "Capabilities: {}", list.join(", "));
    }
    type Section = (&'static str, &'static str, fn(&[Value]) -> String);
    let sections: [Section; 4] = [
        ("Tools", "tools", tools),
        ("Resources", "resources", resources),
        ("Resource templates", "resourceTemplates", templates),
        ("Prompts", "prompts", prompts),
    ];
    for (title, key, render) in sections {
        let Some(items) = m[key].as_array().filter(|a| !a.is_empty()) else {
            continue;
        };
        let _ = writeln!(out, "\n{title} ({}):", items.len());
        for line in render(items).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// `list resources` on a server that lists no fixed resource but has templates.
pub(crate) fn only_templates(templates: &[Value]) -> String {
    let n = templates.len();
    let noun = if n == 1 { "template" } else { "templates" };
    format!(
        "No fixed resources; {n} resource {noun} (read one with a URI that fits it, list them with `mcp-cli list templates`):\n{}",
        self::templates(templates)
    )
}

pub(crate) fn prompts(prompts: &[Value]) -> String {
    let rows: Vec<(String, String)> = prompts
        .iter()
        .map(|p| {
            let args: Vec<String> = p["arguments"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|arg| {
                            if arg["required"] == true {
                                s(arg, "name").to_string()
                            } else {
                                format!("[{}]", s(arg, "name"))
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            (
                format!("{}({})", s(p, "name"), args.join(", ")),
                first_line(s(p, "description")),
            )
        })
        .collect();
    columns(&rows)
}

fn base64_len(b64: &str) -> usize {
    let b64 = b64.trim_end_matches('=');
    b64.len() * 3 / 4
}

/// One content block of a tool result or prompt message.
pub(crate) fn content(c: &Value) -> String {
    match s(c, "type") {
        "text" => s(c, "text").to_string(),
        "image" | "audio" => format!(
            "[{} {}, {} bytes]",
            s(c, "type"),
            s(c, "mimeType"),
            base64_len(s(c, "data"))
        ),
        "resource_link" => {
            let mut out = format!("[resource link] {}", s(c, "uri"));
            if !s(c, "name").is_empty() {
                let _ = write!(out, " ({})", s(c, "name"));
            }
            out
        }
        "resource" => contents(std::slice::from_ref(&c["resource"])),
        other => format!("[{other} content] {c}"),
    }
}

/// A tool result's content, one block per paragraph; the structured content when there is
/// no content.
pub(crate) fn tool_result(r: &Value) -> String {
    let blocks: Vec<String> = r["content"]
        .as_array()
        .map(|c| c.iter().map(content).collect())
        .unwrap_or_default();
    if blocks.is_empty()
        && let Some(sc) = r.get("structuredContent")
    {
        return serde_json::to_string_pretty(sc).unwrap_or_default();
    }
    blocks.join("\n")
}

/// Resource contents: text as it is, binary as a summary.
pub(crate) fn contents(items: &[Value]) -> String {
    let mut parts = Vec::new();
    for c in items {
        if let Some(text) = c.get("text").and_then(Value::as_str) {
            if items.len() > 1 {
                parts.push(format!("--- {}\n{text}", s(c, "uri")));
            } else {
                parts.push(text.to_string());
            }
        } else {
            let mime = if s(c, "mimeType").is_empty() {
                "application/octet-stream"
            } else {
                s(c, "mimeType")
            };
            parts.push(format!(
                "[{} {mime}, {} bytes; `--json` prints it in base64]",
                s(c, "uri"),
                base64_len(s(c, "blob"))
            ));
        }
    }
    parts.join("\n")
}

/// A rendered prompt: its messages, each under its role.
pub(crate) fn prompt(r: &Value) -> String {
    let mut out = String::new();
    if !s(r, "description").is_empty() {
        let _ = writeln!(out, "# {}\n", s(r, "description"));
    }
    for m in r["messages"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "[{}]\n{}\n", s(m, "role"), content(&m["content"]));
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resources_of_a_server_with_templates_only_mention_them() {
        let t =
            [json!({"uriTemplate": "notes://{name}", "name": "note", "description": "One note."})];
        assert_eq!(
            only_templates(&t),
            "No fixed resources; 1 resource template (read one with a URI that fits it, list them with `mcp-cli list templates`):\nnotes://{name}  note: One note.\n"
        );
    }

    #[test]
    fn content_blocks() {
        let r = json!({"content": [
            {"type": "text", "text": "hello"},
            {"type": "image", "mimeType": "image/png", "data": "iVBORw0KGgo="},
            {"type": "resource_link", "uri": "notes://a", "name": "a"},
            {"type": "resource", "resource": {"uri": "notes://b", "text": "body"}}
        ]});
        assert_eq!(
            tool_result(&r),
            "hello\n[image image/png, 8 bytes]\n[resource link] notes://a (a)\nbody"
        );
        assert_eq!(
            tool_result(&json!({"content": [], "structuredContent": {"x": 1}})),
            "{\n  \"x\": 1\n}"
        );
    }

    #[test]
    fn aligned_lists() {
        let t = tools(&[
            json!({"name": "add", "description": "Add\nthem.\n\nMore.", "inputSchema": {"properties": {"a": {"type": "integer"}}, "required": ["a"]}}),
            json!({"name": "logo", "inputSchema": {}}),
        ]);
        assert_eq!(t, "add(a: integer)  Add them.\nlogo()\n");
    }
}
