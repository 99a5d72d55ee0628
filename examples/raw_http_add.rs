//! The framework-free baseline of the HTTP benchmark (`cargo bench --bench http`): a bare hyper
//! server (HTTP/1, keep-alive, `TCP_NODELAY`, tokio's multi-thread runtime) that reads a POST
//! body, parses one JSON-RPC message with `serde_json`, answers `initialize` minimally and
//! `tools/call` of `add`, and answers notifications with 202. No sessions, no header checks, no
//! SSE, no logging.
//!
//! It answers `tools/call` in the same shape as `examples/bench_add.rs` served with
//! `--transport http`, so the two can be compared byte for byte on the wire.
//!
//! ```text
//! cargo run --example raw_http_add -- --port 8001
//! ```

use std::convert::Infallible;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::net::TcpListener;

#[derive(Deserialize)]
struct Message {
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
struct Reply<'a, R> {
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

fn answer(body: &[u8]) -> (StatusCode, Option<Vec<u8>>) {
    let message: Message = match serde_json::from_slice(body) {
        Ok(m) => m,
        Err(e) => {
            let reply = serde_json::json!({
                "jsonrpc": "2.0",
                "error": {"code": -32700, "message": format!("Parse error: {e}")}
            });
            return (StatusCode::BAD_REQUEST, serde_json::to_vec(&reply).ok());
        }
    };
    let Some(id) = message.id else {
        return (StatusCode::ACCEPTED, None);
    };
    let bytes = match (message.method.as_str(), message.params) {
        ("initialize", params) => {
            let version = params
                .and_then(|p| p.protocol_version)
                .unwrap_or_else(|| "2025-11-25".into());
            let result = serde_json::json!({
                "protocolVersion": version,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "raw", "version": "0.0.0"}
            });
            serde_json::to_vec(&Reply {
                jsonrpc: "2.0",
                id: &id,
                result,
            })
        }
        (
            "tools/call",
            Some(Params {
                name: Some(name),
                arguments: Some(Args { a, b }),
                ..
            }),
        ) if name == "add" => {
            let sum = a + b;
            serde_json::to_vec(&Reply {
                jsonrpc: "2.0",
                id: &id,
                result: CallResult {
                    content: [Text {
                        kind: "text",
                        text: sum.to_string(),
                    }],
                    structured_content: Sum { result: sum },
                },
            })
        }
        _ => serde_json::to_vec(&serde_json::json!({
            "jsonrpc": "2.0", "id": id,
            "error": {"code": -32601, "message": "Method not found"}
        })),
    };
    (StatusCode::OK, bytes.ok())
}

async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = match request.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let (status, reply) = answer(&body);
    let mut response = Response::new(Full::new(reply.map(Bytes::from).unwrap_or_default()));
    *response.status_mut() = status;
    if status != StatusCode::ACCEPTED {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(response)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut port = 0u16;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                port = args
                    .next()
                    .and_then(|p| p.parse().ok())
                    .expect("--port takes a number")
            }
            other => panic!("unknown argument {other}; only --port PORT"),
        }
    }
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!(
        "raw_http_add: listening on http://{}/mcp",
        listener.local_addr()?
    );
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        });
    }
}
