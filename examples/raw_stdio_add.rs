//! The framework-free baseline of the stdio benchmark (`cargo bench --bench stdio`): a plain
//! blocking loop that reads one JSON-RPC message per line from stdin, parses it with
//! `serde_json`, answers `initialize` minimally and `tools/call` of `add`, and writes and flushes
//! one line per answer. No runtime, no threads, no validation beyond what `serde` does.
//!
//! It answers `tools/call` in the same shape as `examples/bench_add.rs`, so the two can be
//! compared byte for byte on the wire.

use std::io::{self, BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Deserialize)]
struct Request {
    #[serde(default)]
    id: Option<Value>,
    method: String,
    #[serde(default)]
    params: Option<Params>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Params {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    arguments: Option<Args>,
    #[serde(default)]
    protocol_version: Option<String>,
}

#[derive(Deserialize)]
struct Args {
    a: i64,
    b: i64,
}

#[derive(Serialize)]
struct Response<'a, R> {
    jsonrpc: &'static str,
    id: &'a Value,
    result: R,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallResult {
    content: [Text; 1],
    structured_content: Sum,
}

#[derive(Serialize)]
struct Text {
    #[serde(rename = "type")]
    kind: &'static str,
    text: String,
}

#[derive(Serialize)]
struct Sum {
    result: i64,
}

fn main() -> io::Result<()> {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let req: Request = match serde_json::from_str(&line) {
            Ok(r) => r,
            Err(e) => {
                let reply = serde_json::json!({
                    "jsonrpc": "2.0", "id": null,
                    "error": {"code": -32700, "message": format!("Parse error: {e}")}
                });
                serde_json::to_writer(&mut out, &reply)?;
                out.write_all(b"\n")?;
                out.flush()?;
                continue;
            }
        };
        // Notifications get no answer.
        let Some(id) = req.id else { continue };
        let params = req.params;
        match req.method.as_str() {
            "initialize" => {
                let version = params
                    .and_then(|p| p.protocol_version)
                    .unwrap_or_else(|| "2025-11-25".into());
                let result = serde_json::json!({
                    "protocolVersion": version,
                    "capabilities": {"tools": {}},
                    "serverInfo": {"name": "raw", "version": "0.0.0"}
                });
                serde_json::to_writer(
                    &mut out,
                    &Response {
                        jsonrpc: "2.0",
                        id: &id,
                        result,
                    },
                )?;
            }
            "tools/call" => match params {
                Some(Params {
                    name: Some(name),
                    arguments: Some(Args { a, b }),
                    ..
                }) if name == "add" => {
                    let sum = a + b;
                    let result = CallResult {
                        content: [Text {
                            kind: "text",
                            text: sum.to_string(),
                        }],
                        structured_content: Sum { result: sum },
                    };
                    serde_json::to_writer(
                        &mut out,
                        &Response {
                            jsonrpc: "2.0",
                            id: &id,
                            result,
                        },
                    )?;
                }
                _ => {
                    let reply = serde_json::json!({
                        "jsonrpc": "2.0", "id": id,
                        "error": {"code": -32602, "message": "Invalid params"}
                    });
                    serde_json::to_writer(&mut out, &reply)?;
                }
            },
            other => {
                let reply = serde_json::json!({
                    "jsonrpc": "2.0", "id": id,
                    "error": {"code": -32601, "message": format!("Method not found: {other}")}
                });
                serde_json::to_writer(&mut out, &reply)?;
            }
        }
        out.write_all(b"\n")?;
        out.flush()?;
    }
}
