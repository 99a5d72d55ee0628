//! The same request in two revisions, side by side: each on a fresh connection of its own
//! (a stdio server is started for it and stopped after), so both start from the same state,
//! with the wire messages of each kept for the page to compare.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mcp_runtime::protocol::ProtocolVersion;
use mcp_runtime::{ClientOptions, MessageTap};
use serde_json::{Value, json};

use crate::commands::client_info;
use crate::target::{Program, Target};

/// The most wire messages kept per side.
const MESSAGES: usize = 200;
/// How long one side's request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What a comparison connects to: the session's target and program.
#[derive(Clone)]
pub(super) struct Setup {
    pub target: Target,
    pub program: Option<Program>,
    pub timeout: Duration,
}

/// The methods worth comparing: reads with no side effects on the session, and tool calls.
fn comparable(method: &str) -> bool {
    matches!(
        method,
        "tools/call"
            | "tools/list"
            | "resources/list"
            | "resources/read"
            | "resources/templates/list"
            | "prompts/list"
            | "prompts/get"
            | "completion/complete"
    )
}

async fn one(setup: &Setup, revision: &str, method: &str, params: &Value) -> Value {
    let messages: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = Arc::clone(&messages);
    let started = Instant::now();
    let options = ClientOptions {
        protocol_version: revision.to_string(),
        client_info: client_info(" dev"),
        on_message: Some(MessageTap::new(move |dir, bytes| {
            let mut m = seen.lock().unwrap_or_else(|p| p.into_inner());
            if m.len() < MESSAGES {
                let msg: Value = serde_json::from_slice(bytes)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into()));
                let dir = if dir == mcp_runtime::Direction::Sent {
                    "out"
                } else {
                    "in"
                };
                m.push(json!({ "dir": dir, "t": started.elapsed().as_secs_f64() * 1000.0, "msg": msg }));
            }
        })),
        ..ClientOptions::default()
    };
    let client = match crate::target::connect(
        &setup.target,
        setup.program.as_ref(),
        options,
        Stdio::null(),
        setup.timeout,
    )
    .await
    {
        Ok(c) => c,
        Err(e) => return json!({ "revision": revision, "connectError": e.message }),
    };
    let protocol = client.protocol_version().to_string();
    let asked = Instant::now();
    let outcome =
        tokio::time::timeout(REQUEST_TIMEOUT, client.request::<_, Value>(method, params)).await;
    let ms = asked.elapsed().as_secs_f64() * 1000.0;
    let _ = tokio::time::timeout(Duration::from_secs(2), client.close()).await;
    let messages = std::mem::take(&mut *messages.lock().unwrap_or_else(|p| p.into_inner()));
    let mut side = json!({ "revision": revision, "protocolVersion": protocol, "ms": ms, "messages": messages });
    match outcome {
        Ok(Ok(r)) => side["result"] = r,
        Ok(Err(e)) => side["error"] = super::web::error_value(&e),
        Err(_) => {
            side["error"] =
                json!({ "message": format!("no answer in {} s", REQUEST_TIMEOUT.as_secs()) })
        }
    }
    side
}

/// Makes `method` with `params` at each of `revisions` (two), one after the other.
pub(super) async fn compare(setup: Setup, body: &Value) -> Result<Value, String> {
    let method = body["method"].as_str().unwrap_or_default();
    if !comparable(method) {
        return Err(format!(
            "`{method}` is not compared: tools/call and the list, read and get requests are"
        ));
    }
    let params = match &body["params"] {
        Value::Null => json!({}),
        p => p.clone(),
    };
    let mut revisions = Vec::new();
    for r in body["revisions"].as_array().into_iter().flatten() {
        match r.as_str().and_then(ProtocolVersion::parse_any) {
            Some(v) => revisions.push(v.as_str().to_string()),
            None => return Err(format!("unknown revision {r}")),
        }
    }
    if revisions.len() != 2 {
        return Err("give two revisions to compare".into());
    }
    let mut sides = Vec::new();
    for r in &revisions {
        sides.push(one(&setup, r, method, &params).await);
    }
    Ok(json!({ "method": method, "params": params, "sides": sides }))
}
