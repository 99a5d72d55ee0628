//! The quickstart example as a real process on stdio: framing, bad input, shutdown, launch
//! options. `cargo build --examples` must have run (the test command does it).

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mcp_workspace::{StdioPeer, example_binary, example_command};
use serde_json::{Value, json};

fn quickstart() -> Command {
    example_command("quickstart")
}

/// The quickstart on stdio with these options.
fn start(args: &[&str]) -> StdioPeer {
    let mut command = quickstart();
    command.args(args);
    StdioPeer::start(command)
}

fn initialize(p: &mut StdioPeer) {
    p.send(r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#);
    assert_eq!(p.recv()["result"]["serverInfo"]["name"], "quickstart");
    p.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
}

#[test]
fn bad_lines_get_errors_and_the_server_keeps_going() {
    let mut p = start(&[]);
    initialize(&mut p);
    p.send("{not json");
    let e = p.recv();
    // No `id` at all: the MCP schema has no `null` ids.
    assert_eq!(
        e,
        json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": e["error"]["message"]}})
    );
    p.send(r#"{"jsonrpc":"2.0","id":5}"#);
    assert_eq!(p.recv()["error"]["code"], -32600);
    p.send(r#"[{"jsonrpc":"2.0","id":6,"method":"ping"}]"#);
    assert_eq!(p.recv()["error"]["code"], -32600);
    p.send("");
    p.send(r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#);
    assert_eq!(p.recv(), json!({"jsonrpc": "2.0", "id": 7, "result": {}}));
    let (code, rest) = p.finish(Duration::from_secs(10));
    assert_eq!(code, 0);
    assert_eq!(rest, "", "nothing after the last answer");
}

#[test]
fn oversized_messages_are_refused_without_dying() {
    let mut p = start(&["--max-message-size", "200"]);
    initialize(&mut p);
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"text_stats","arguments":{{"text":"{}"}}}}}}"#,
        "a ".repeat(200)
    );
    p.send(&big);
    let e = p.recv();
    assert_eq!(e["error"]["code"], -32600);
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit of 200 bytes"),
        "{e}"
    );
    p.send(r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}"#);
    assert_eq!(
        p.recv()["result"]["structuredContent"],
        json!({"result": 3})
    );
}

#[test]
fn end_of_input_lets_running_calls_finish_then_exits_cleanly() {
    let mut p = start(&[]);
    initialize(&mut p);
    p.send(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sleep","arguments":{"ms":300}}}"#);
    let (code, rest) = p.finish(Duration::from_secs(10));
    assert_eq!(code, 0);
    let reply: Value = serde_json::from_str(rest.trim()).unwrap();
    assert_eq!(reply["result"]["content"][0]["text"], "slept 300 ms");
}

#[cfg(unix)]
#[test]
fn sigterm_finishes_in_flight_calls_and_exits() {
    let mut p = start(&[]);
    initialize(&mut p);
    p.send(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"sleep","arguments":{"ms":300}}}"#);
    std::thread::sleep(Duration::from_millis(100));
    let status = Command::new("kill")
        .args(["-TERM", &p.child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let reply = p.recv();
    assert_eq!(reply["id"], 1);
    assert_eq!(reply["result"]["content"][0]["text"], "slept 300 ms");
    // stdin is still open: the signal alone ends the server.
    let start = Instant::now();
    let code = loop {
        if let Some(s) = p.child.0.try_wait().unwrap() {
            break s.code();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(0));
}

#[test]
fn bad_options_are_one_line_and_exit_2() {
    let out = quickstart()
        .arg("--transport")
        .arg("pigeon")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("unknown transport `pigeon`"), "{err}");

    let out = quickstart()
        .arg("--help")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8(out.stdout)
            .unwrap()
            .contains("--transport")
    );
}

#[test]
fn a_terminal_gets_a_banner_on_stderr_and_nothing_on_stdout() {
    // `script` gives the server a terminal for stdin; stdout and stderr are told apart by
    // redirecting stderr to a file inside the terminal session.
    let dir = std::env::temp_dir().join(format!("mcp-banner-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let err_file = dir.join("stderr");
    let bin = example_binary("quickstart");
    let inner = format!("{} 2>{}", bin.display(), err_file.display());
    let out = Command::new("script")
        .args(["-qec", &inner, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            // Ctrl-D on the terminal ends the input.
            c.stdin.take().unwrap().write_all(b"\x04")?;
            c.wait_with_output()
        })
        .expect("`script` (util-linux) runs");
    let stderr = std::fs::read_to_string(&err_file).unwrap();
    assert!(
        stderr.contains("quickstart 0.1.0: MCP server on stdio, serving 6 tools"),
        "{stderr}"
    );
    assert!(stderr.contains("Connect an MCP client"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("MCP server"),
        "the banner never goes to stdout: {stdout:?}"
    );
}

#[tokio::test]
async fn the_stdio_client_drives_a_server_process() {
    let client =
        mcp_runtime::Client::spawn(tokio::process::Command::new(example_binary("quickstart")))
            .await
            .unwrap();
    assert_eq!(client.server_info().name, "quickstart");
    let tools = client.list_all_tools().await.unwrap();
    assert_eq!(tools.len(), 6);
    let r = client
        .call_tool("divide", json!({"a": 1, "b": 4}))
        .await
        .unwrap();
    assert_eq!(r.structured_content, Some(json!({"result": 0.25})));
    client.close().await.unwrap();
}

/// A server that exits before answering fails the handshake at once, however the exit races
/// with the `initialize` request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_exits_at_once_fails_the_handshake_without_waiting() {
    for _ in 0..40 {
        let command = tokio::process::Command::new("true");
        let outcome =
            tokio::time::timeout(Duration::from_secs(5), mcp_runtime::Client::spawn(command))
                .await
                .expect("an answer, not a hang");
        assert!(
            matches!(outcome, Err(mcp_runtime::ClientError::Closed)),
            "{outcome:?}"
        );
    }
}

#[test]
fn a_println_in_a_tool_goes_to_stderr_and_the_protocol_stream_stays_clean() {
    // `write_note` in the notes example `println!`s before it answers.
    let mut child = example_command("notes")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the notes example");
    let stderr = mcp_workspace::Lines::new(child.stderr.take().expect("piped"));
    let stdout = mcp_workspace::Lines::new(child.stdout.take().expect("piped"));
    let mut stdin = child.stdin.take().expect("piped");
    let _running = mcp_workspace::Running(child);
    let mut send = |line: &str| {
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    };
    let timeout = Duration::from_secs(30);
    send(
        r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#,
    );
    let first: Value = serde_json::from_str(&stdout.next(timeout).unwrap()).unwrap();
    assert_eq!(first["id"], 0);
    send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    send(
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write_note","arguments":{"name":"stray","text":"x"}}}"#,
    );
    // Every line on stdout is JSON-RPC, up to the call's answer.
    loop {
        let line = stdout.next(timeout).expect("the call's answer");
        let m: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout carries only JSON-RPC: {e}: {line:?}"));
        if m["id"] == 1 {
            assert_eq!(m["result"]["content"][0]["text"], "created notes://stray");
            break;
        }
    }
    stderr.find("the println! on stderr", timeout, |l| {
        (l == "write_note: stray").then_some(())
    });
}

/// The names of a process's threads.
fn thread_names(pid: u32) -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .collect()
}

/// Waits up to two seconds for a thread of that name.
fn has_thread(pid: u32, name: &str) -> bool {
    let start = Instant::now();
    loop {
        if thread_names(pid).iter().any(|n| n == name) {
            return true;
        }
        if start.elapsed() > Duration::from_secs(2) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[cfg(target_os = "linux")]
fn the_log_writer_thread_is_made_by_the_second_line_not_before_the_first_answer() {
    // At the default level the `initialize` line is the only one: written at once, no thread.
    let mut p = start(&[]);
    initialize(&mut p);
    p.send(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}"#);
    assert_eq!(p.recv()["result"]["structuredContent"]["result"], 3);
    let pid = p.child.0.id();
    let names = thread_names(pid);
    assert!(!names.is_empty(), "no threads read for {pid}");
    assert!(
        !has_thread(pid, "mcp-log-writer"),
        "a writer thread with one line logged: {names:?}"
    );
    // At debug every request logs: the second line makes the thread.
    let mut command = quickstart();
    command.env("RUST_LOG", "debug");
    let mut p = StdioPeer::start(command);
    initialize(&mut p);
    p.send(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}"#);
    assert_eq!(p.recv()["result"]["structuredContent"]["result"], 3);
    let pid = p.child.0.id();
    assert!(
        has_thread(pid, "mcp-log-writer"),
        "no writer thread after several lines: {:?}",
        thread_names(pid)
    );
}

#[test]
fn launch_options_come_from_mcp_variables_and_their_file_twins() {
    let dir = std::env::temp_dir().join(format!("mcp-stdio-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = dir.join("port");
    std::fs::write(&port, "4321\n").unwrap();
    let out = quickstart()
        .env("MCP_PRINT_CONFIG", "true")
        .env("MCP_PORT_FILE", &port)
        .env("MCP_SESSION_TIMEOUT", "77")
        // Not an option's variable: left alone.
        .env("SESSION_TIMEOUT", "5")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("port = 4321  # from MCP_PORT"), "{text}");
    assert!(text.contains("session-timeout = 77"), "{text}");
}
