//! `mcp-cli` against the quickstart example (built by `cargo build --examples`).

use std::path::PathBuf;
use std::process::{Command, Output};

fn quickstart() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/examples/quickstart");
    assert!(
        p.exists(),
        "{} is missing: run `cargo build --examples` first",
        p.display()
    );
    p
}

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcp-cli"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn lists_tools() {
    let q = quickstart();
    let out = cli(&["tools", "--", q.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tools: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "add",
            "convert_temperature",
            "divide",
            "logo",
            "sleep",
            "text_stats"
        ]
    );
}

#[test]
fn calls_a_tool_and_reports_tool_errors_in_the_exit_code() {
    let q = quickstart();
    let out = cli(&[
        "call",
        "add",
        r#"{"a": 2, "b": 3}"#,
        "--",
        q.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["structuredContent"], serde_json::json!({"result": 5}));

    let out = cli(&[
        "call",
        "divide",
        r#"{"a": 1, "b": 0}"#,
        "--",
        q.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["isError"], true);
}

#[test]
fn bad_usage_and_unreachable_servers_fail_clearly() {
    let out = cli(&["call", "add", "{not json", "--", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not JSON"));
    let out = cli(&["tools"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("`--url URL`, or its command after `--`")
    );
    let out = cli(&["tools", "--", "/no/such/server"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not start `/no/such/server`"));
    let out = cli(&["call", "nope", "--", quickstart().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Unknown tool"));
    let out = cli(&["--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("mcp-cli call TOOL"));
}

/// The quickstart over streamable HTTP on a free port, stopped when dropped.
struct HttpQuickstart(std::process::Child, String);

impl HttpQuickstart {
    fn start(args: &[&str]) -> HttpQuickstart {
        use std::io::BufRead;
        let mut child = Command::new(quickstart())
            .args(["--transport", "http", "--port", "0"])
            .args(args)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut banner = String::new();
        std::io::BufReader::new(child.stderr.take().unwrap())
            .read_line(&mut banner)
            .unwrap();
        let url = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap()
            .trim_end_matches(',')
            .to_string();
        HttpQuickstart(child, url)
    }
}

impl Drop for HttpQuickstart {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn talks_to_a_server_over_http() {
    let server = HttpQuickstart::start(&["--auth-token", "s3cret"]);
    let auth = "Authorization: Bearer s3cret";
    let out = cli(&["tools", "--url", &server.1, "-H", auth]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tools: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(tools.as_array().unwrap().len(), 6);

    let out = cli(&[
        "call",
        "add",
        r#"{"a": 2, "b": 40}"#,
        "--url",
        &server.1,
        "--header",
        auth,
    ]);
    assert!(out.status.success());
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["structuredContent"], serde_json::json!({"result": 42}));

    let out = cli(&["tools", "--url", &server.1]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Unauthorized"), "{err}");

    let out = cli(&["tools", "--url", "http://127.0.0.1:1/mcp"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("could not connect"), "{err}");
}
