//! `kill -9` during a burst of appends: every append the server answered is in the database
//! afterwards, no append is half there, and the numbering has no gaps — on SQLite and on
//! Postgres. The server is the real binary over stdio; the burst is pipelined.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use context_store::{Caller, Store};
use mcp_workspace::cluster::TempDir;
use mcp_workspace::{Lines, Running};
use serde_json::{Value, json};

const BURST: u64 = 3000;
const KILL_AFTER: usize = 400;

/// Runs the burst against a server started with `args`, kills it, and returns the context id
/// and the sequence numbers of every answered append, by request id.
fn burst(args: &[&str]) -> (String, BTreeMap<u64, i64>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_context-store"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting context-store");
    let mut stdin = child.stdin.take().unwrap();
    let lines = Lines::new(child.stdout.take().unwrap());
    let mut child = Running(child);
    let send = |stdin: &mut std::process::ChildStdin, v: Value| {
        writeln!(stdin, "{v}").expect("writing to the server");
    };
    let answer = |id: u64| -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let line = lines
                .next(deadline.saturating_duration_since(Instant::now()))
                .expect("an answer");
            let v: Value = serde_json::from_str(&line).unwrap();
            if v["id"] == id {
                return v;
            }
        }
    };
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "burst", "version": "1"}}}),
    );
    answer(0);
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    );
    send(
        &mut stdin,
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": "create_context", "arguments": {"title": "burst"}}}),
    );
    let created = answer(1);
    let cid = created["result"]["structuredContent"]["id"]
        .as_str()
        .unwrap()
        .to_string();

    // The burst, from a thread of its own, as fast as the pipe takes it.
    // At most WINDOW requests in flight (the session's cap is 100): a credit per answer.
    const WINDOW: u64 = 64;
    let (credit, credits) = std::sync::mpsc::channel::<()>();
    let writer = {
        let cid = cid.clone();
        std::thread::spawn(move || {
            for n in 0..BURST {
                if n >= WINDOW && credits.recv().is_err() {
                    return;
                }
                let req = json!({"jsonrpc": "2.0", "id": 10 + n, "method": "tools/call", "params": {
                "name": "append_messages", "arguments": {"context_id": cid, "messages": [
                    {"role": "user", "content": format!("burst {n} question")},
                    {"role": "assistant", "content": format!("burst {n} answer")},
                ]}}});
                if writeln!(stdin, "{req}").is_err() {
                    return;
                }
            }
            // Kept open until the kill: end of input would start a graceful shutdown.
            std::thread::sleep(Duration::from_secs(120));
        })
    };
    let mut acked = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acked.len() < KILL_AFTER {
        let line = lines
            .next(deadline.saturating_duration_since(Instant::now()))
            .expect("answers to the burst");
        let v: Value = serde_json::from_str(&line).unwrap();
        let Some(id) = v["id"].as_u64() else { continue };
        let _ = credit.send(());
        let r = &v["result"];
        assert_ne!(r["isError"], true, "append failed: {v}");
        let first = r["structuredContent"]["first_seq"].as_i64();
        acked.insert(
            id - 10,
            first.unwrap_or_else(|| panic!("not an append's answer: {v}")),
        );
    }
    // SIGKILL in the middle of the burst.
    child.0.kill().expect("kill -9");
    let _ = child.0.wait();
    // Whatever the pipe still held was answered before the kill too.
    while let Ok(line) = lines.next(Duration::from_millis(200)) {
        if let Ok(v) = serde_json::from_str::<Value>(&line)
            && let Some(id) = v["id"].as_u64()
            && v["result"]["structuredContent"]["first_seq"].is_i64()
        {
            acked.insert(
                id - 10,
                v["result"]["structuredContent"]["first_seq"]
                    .as_i64()
                    .unwrap(),
            );
        }
    }
    drop(writer);
    (cid, acked)
}

async fn check(store: &Store, cid: &str, acked: &BTreeMap<u64, i64>) {
    let caller = Caller {
        owner: "local".into(),
        admin: true,
    };
    let info = store.get(&caller, cid).await.expect("the context survived");
    let msgs = store
        .messages_since(&caller, cid, 0, 100_000)
        .await
        .unwrap();
    assert_eq!(info.message_count, msgs.len() as i64);
    assert_eq!(
        info.last_seq,
        msgs.len() as i64,
        "no gaps, no partial appends"
    );
    assert!(
        msgs.len() % 2 == 0,
        "an append is both its messages or neither"
    );
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(m.seq, i as i64 + 1);
    }
    for pair in msgs.chunks(2) {
        let n = pair[0]
            .content
            .strip_prefix("burst ")
            .and_then(|s| s.strip_suffix(" question"))
            .unwrap();
        assert_eq!(
            pair[1].content,
            format!("burst {n} answer"),
            "a call's messages stay together"
        );
    }
    for (n, first) in acked {
        let m = msgs
            .get(*first as usize - 1)
            .unwrap_or_else(|| panic!("acknowledged append {n} (seq {first}) was lost"));
        assert_eq!(m.content, format!("burst {n} question"));
    }
    assert!(
        msgs.len() / 2 < BURST as usize,
        "the kill came before the burst ended ({} of {BURST} stored)",
        msgs.len() / 2
    );
    eprintln!("{} acknowledged, {} stored", acked.len(), msgs.len() / 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_burst_loses_no_acknowledged_append_sqlite() {
    let dir = TempDir::new("ctx-kill9");
    let data = dir.0.to_string_lossy().to_string();
    let (cid, acked) = tokio::task::spawn_blocking(move || burst(&["--data-dir", &data]))
        .await
        .unwrap();
    let store = Store::open_sqlite(&dir.0).await.expect("reopening");
    check(&store, &cid, &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_burst_loses_no_acknowledged_append_postgres() {
    let pg = support::Postgres::start();
    let url = pg.database("kill9").await;
    let u = url.clone();
    let (cid, acked) = tokio::task::spawn_blocking(move || burst(&["--database-url", &u]))
        .await
        .unwrap();
    let store = Store::open(&url).await.expect("reconnecting");
    check(&store, &cid, &acked).await;
}
