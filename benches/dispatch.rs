//! In-process dispatch benchmarks (criterion), each against a framework-free baseline.
//!
//! ```text
//! cargo bench --bench dispatch
//! cargo bench --bench dispatch -- tools_call_add     # one group
//! ```
//!
//! * `direct_session`: one message through `DirectSession::handle` (the session's dispatch:
//!   JSON-RPC parsing, tool lookup, argument extraction, the call, result rendering and
//!   serialization), on an initialized session, with no transport.
//! * `baseline_serde`: what a hand-written server must do for the same message: parse the same
//!   JSON-RPC text with `serde_json` into a small struct, compute, serialize a response of the
//!   same shape.
//! * `client_*`: `Client::call_tool` round trip against an in-memory server (`Client::connect`:
//!   request encoding, channels, the server's session task, response decoding).
//!
//! After the groups, the harness prints each median as a ratio to its group's baseline, read
//! back from criterion's `estimates.json` files written by this run.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use criterion::Criterion;
use mcp_runtime::prelude::*;
use mcp_runtime::server::DirectSession;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// Add two integers.
#[tool]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Quotient and remainder.
#[derive(Serialize, JsonSchema)]
struct DivMod {
    /// `a / b`, rounded toward zero.
    quotient: i64,
    /// `a % b`.
    remainder: i64,
}

/// Divide `a` by `b`, with remainder.
#[tool]
fn divmod(a: i64, b: i64) -> Result<DivMod, ToolError> {
    if b == 0 {
        return Err(ToolError::new("division by zero"));
    }
    Ok(DivMod {
        quotient: a / b,
        remainder: a % b,
    })
}

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0.0.0"}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
const CALL_ADD: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#;
const CALL_BAD: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add","arguments":{"a":"two","b":3}}}"#;
const CALL_DIVMOD: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"divmod","arguments":{"a":17,"b":5}}}"#;
const LIST: &str = r#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#;

// ---- the framework-free baseline ----------------------------------------------------------

#[derive(Deserialize)]
struct Request<'a, P> {
    #[allow(dead_code)]
    jsonrpc: &'a str,
    id: u64,
    method: &'a str,
    params: Option<P>,
}

#[derive(Deserialize)]
struct CallParams<'a, A> {
    name: &'a str,
    arguments: A,
}

#[derive(Deserialize)]
struct TwoInts {
    a: i64,
    b: i64,
}

#[derive(Serialize)]
struct Response<R> {
    jsonrpc: &'static str,
    id: u64,
    result: R,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ToolResult<S> {
    content: [Text; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    structured_content: Option<S>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    is_error: bool,
}

#[derive(Serialize)]
struct Text {
    #[serde(rename = "type")]
    kind: &'static str,
    text: String,
}

#[derive(Serialize)]
struct Wrapped {
    result: i64,
}

fn baseline_add(msg: &str) -> Vec<u8> {
    let req: Request<CallParams<TwoInts>> = serde_json::from_str(msg).unwrap();
    assert_eq!(req.method, "tools/call");
    let p = req.params.unwrap();
    assert_eq!(p.name, "add");
    let sum = p.arguments.a + p.arguments.b;
    serde_json::to_vec(&Response {
        jsonrpc: "2.0",
        id: req.id,
        result: ToolResult {
            content: [Text {
                kind: "text",
                text: sum.to_string(),
            }],
            structured_content: Some(Wrapped { result: sum }),
            is_error: false,
        },
    })
    .unwrap()
}

/// Arguments are parsed in a second step, so that a bad argument becomes a tool error.
fn baseline_bad_argument(msg: &str) -> Vec<u8> {
    let req: Request<CallParams<&RawValue>> = serde_json::from_str(msg).unwrap();
    assert_eq!(req.method, "tools/call");
    let p = req.params.unwrap();
    let result = match serde_json::from_str::<TwoInts>(p.arguments.get()) {
        Ok(TwoInts { a, b }) => {
            let sum = a + b;
            ToolResult {
                content: [Text {
                    kind: "text",
                    text: sum.to_string(),
                }],
                structured_content: Some(Wrapped { result: sum }),
                is_error: false,
            }
        }
        Err(e) => ToolResult {
            content: [Text {
                kind: "text",
                text: format!("Invalid arguments for tool `{}`: {e}", p.name),
            }],
            structured_content: None,
            is_error: true,
        },
    };
    serde_json::to_vec(&Response {
        jsonrpc: "2.0",
        id: req.id,
        result,
    })
    .unwrap()
}

fn baseline_divmod(msg: &str) -> Vec<u8> {
    let req: Request<CallParams<TwoInts>> = serde_json::from_str(msg).unwrap();
    assert_eq!(req.method, "tools/call");
    let TwoInts { a, b } = req.params.unwrap().arguments;
    let value = DivMod {
        quotient: a / b,
        remainder: a % b,
    };
    serde_json::to_vec(&Response {
        jsonrpc: "2.0",
        id: req.id,
        result: ToolResult {
            content: [Text {
                kind: "text",
                text: serde_json::to_string(&value).unwrap(),
            }],
            structured_content: Some(&value),
            is_error: false,
        },
    })
    .unwrap()
}

/// The listing is built once, as a hand-written server would keep it.
fn baseline_list(msg: &str, listing: &RawValue) -> Vec<u8> {
    let req: Request<Value> = serde_json::from_str(msg).unwrap();
    assert_eq!(req.method, "tools/list");
    serde_json::to_vec(&Response {
        jsonrpc: "2.0",
        id: req.id,
        result: listing,
    })
    .unwrap()
}

// ---- measurements ---------------------------------------------------------------------------

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn session(rt: &tokio::runtime::Runtime) -> DirectSession {
    let mut s = DirectSession::new(Server::new("bench")).unwrap();
    rt.block_on(async {
        let init = s.handle(INITIALIZE).await;
        assert!(
            std::str::from_utf8(&init)
                .unwrap()
                .contains("\"protocolVersion\"")
        );
        assert!(s.handle(INITIALIZED).await.is_empty());
    });
    s
}

/// A framework-free answer to one message.
type Baseline<'a> = dyn Fn(&str) -> Vec<u8> + 'a;

/// `iters` messages through `DirectSession::handle`, timed as a whole.
fn time_direct(
    rt: &tokio::runtime::Runtime,
    s: &mut DirectSession,
    msg: &str,
    iters: u64,
) -> Duration {
    rt.block_on(async {
        let t = Instant::now();
        for _ in 0..iters {
            black_box(s.handle(black_box(msg)).await);
        }
        t.elapsed()
    })
}

fn reply(s: &mut DirectSession, rt: &tokio::runtime::Runtime, msg: &str) -> Value {
    serde_json::from_slice(&rt.block_on(s.handle(msg))).unwrap()
}

/// Both sides must give the same answer before either is timed.
fn same_answer(ours: &Value, baseline: &[u8]) {
    let baseline: Value = serde_json::from_slice(baseline).unwrap();
    assert_eq!(
        ours, &baseline,
        "the baseline answers differently from the server"
    );
}

fn dispatch(c: &mut Criterion) {
    let rt = current_thread();
    let mut s = session(&rt);

    // Check every path before timing it.
    let add = reply(&mut s, &rt, CALL_ADD);
    assert_eq!(add["result"]["structuredContent"]["result"], 5);
    same_answer(&add, &baseline_add(CALL_ADD));
    let divmod = reply(&mut s, &rt, CALL_DIVMOD);
    assert_eq!(
        divmod["result"]["structuredContent"],
        json!({"quotient": 3, "remainder": 2})
    );
    same_answer(&divmod, &baseline_divmod(CALL_DIVMOD));
    let bad = reply(&mut s, &rt, CALL_BAD);
    assert_eq!(bad["result"]["isError"], true, "{bad}");
    let bad_baseline: Value = serde_json::from_slice(&baseline_bad_argument(CALL_BAD)).unwrap();
    assert_eq!(bad_baseline["result"]["isError"], true);
    let list = reply(&mut s, &rt, LIST);
    assert_eq!(
        list["result"]["tools"].as_array().map(Vec::len),
        Some(2),
        "{list}"
    );
    let listing: Box<RawValue> = serde_json::from_str(&list["result"].to_string()).unwrap();
    same_answer(&list, &baseline_list(LIST, &listing));

    let groups: [(&str, &str, &Baseline); 4] = [
        ("tools_call_add", CALL_ADD, &baseline_add),
        ("tools_call_structured", CALL_DIVMOD, &baseline_divmod),
        ("tools_call_bad_argument", CALL_BAD, &baseline_bad_argument),
        ("tools_list", LIST, &|msg| baseline_list(msg, &listing)),
    ];
    for (group, msg, baseline) in groups {
        let mut g = c.benchmark_group(group);
        g.bench_function("baseline_serde", |b| b.iter(|| baseline(black_box(msg))));
        g.bench_function("direct_session", |b| {
            b.iter_custom(|n| time_direct(&rt, &mut s, msg, n))
        });
        g.finish();
    }
}

fn client(c: &mut Criterion) {
    let mut g = c.benchmark_group("client_call_tool_add");
    g.bench_function("baseline_serde", |b| {
        b.iter(|| baseline_add(black_box(CALL_ADD)))
    });
    for (name, rt) in [
        ("client_current_thread", current_thread()),
        (
            "client_multi_thread",
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
        ),
    ] {
        let client = rt.block_on(Client::connect(Server::new("bench"))).unwrap();
        let r = rt
            .block_on(client.call_tool("add", json!({"a": 2, "b": 3})))
            .unwrap();
        assert_eq!(r.structured_content, Some(json!({"result": 5})));
        g.bench_function(name, |b| {
            b.iter_custom(|n| {
                rt.block_on(async {
                    let t = Instant::now();
                    for i in 0..n as i64 {
                        let r = client
                            .call_tool("add", json!({"a": i, "b": 1}))
                            .await
                            .unwrap();
                        black_box(r);
                    }
                    t.elapsed()
                })
            })
        });
        rt.block_on(client.close()).unwrap();
    }
    g.finish();
}

// ---- ratios -----------------------------------------------------------------------------------

fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| mcp_workspace::workspace_root().join("target"))
        .join("criterion")
}

/// The median (ns) this run wrote for `group/function`, if it ran.
fn median_ns(group: &str, function: &str, since: SystemTime) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(function)
        .join("new")
        .join("estimates.json");
    let meta = std::fs::metadata(&path).ok()?;
    if meta.modified().ok()? < since {
        return None;
    }
    let v: Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn print_ratios(since: SystemTime) {
    let rows = [
        ("tools_call_add", "direct_session"),
        ("tools_call_structured", "direct_session"),
        ("tools_call_bad_argument", "direct_session"),
        ("tools_list", "direct_session"),
        ("client_call_tool_add", "client_current_thread"),
        ("client_call_tool_add", "client_multi_thread"),
    ];
    let direct_add = median_ns("tools_call_add", "direct_session", since);
    let mut lines = Vec::new();
    for (group, function) in rows {
        let (Some(base), Some(ours)) = (
            median_ns(group, "baseline_serde", since),
            median_ns(group, function, since),
        ) else {
            continue;
        };
        let vs_direct = match direct_add {
            Some(d) if group.starts_with("client") => format!("{:.1}×", ours / d),
            _ => String::new(),
        };
        lines.push(format!(
            "| {group}/{function} | {base:.0} ns | {ours:.0} ns | {:.2}× | {vs_direct} |",
            ours / base
        ));
    }
    if !lines.is_empty() {
        println!(
            "\nMedians of this run; ratio = ours / the framework-free baseline of the same group (lower is better):\n"
        );
        println!(
            "| benchmark | baseline_serde | ours | ratio | ours / tools_call_add/direct_session |"
        );
        println!("|---|---|---|---|---|");
        for l in lines {
            println!("{l}");
        }
    }
}

fn main() {
    let start = SystemTime::now() - Duration::from_secs(1);
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    dispatch(&mut c);
    client(&mut c);
    c.final_summary();
    print_ratios(start);
}
