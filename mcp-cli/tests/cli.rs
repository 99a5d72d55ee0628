//! `mcp-cli` against the examples (built by `cargo build --examples`): every subcommand, human
//! and JSON output, exit codes, bad arguments, unreachable servers, and the inspector's web
//! API guard.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use mcp_workspace::{
    HttpExample, Lines, Running, built_example, example_command, raw_http, workspace_root,
};
use serde_json::{Value, json};

#[path = "../../tests/support/tls.rs"]
mod tls;

fn example(name: &str) -> String {
    built_example(name).to_string_lossy().into_owned()
}

fn quickstart() -> String {
    example("quickstart")
}

fn notes() -> String {
    example("notes")
}

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcp-cli"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        stderr(o)
    );
    stdout(o)
}

#[track_caller]
fn fails(o: &Output, code: i32, says: &str) {
    assert_eq!(o.status.code(), Some(code), "{}{}", stdout(o), stderr(o));
    assert!(
        stderr(o).contains(says),
        "expected {says:?} in: {}",
        stderr(o)
    );
}

fn json_out(o: &Output) -> Value {
    serde_json::from_str(&ok(o)).unwrap()
}

#[test]
fn list_shows_each_kind_for_people_and_scripts() {
    let q = quickstart();
    let human = ok(&cli(&["list", "tools", "--", &q]));
    assert!(human.contains("add(a: integer, b: integer)"), "{human}");
    assert!(
        human.contains("text_stats(text: string, [top: integer])"),
        "{human}"
    );
    assert!(human.contains("Add two integers."), "{human}");
    let tools = json_out(&cli(&["list", "tools", "--json", "--", &q]));
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

    let n = notes();
    let human = ok(&cli(&["list", "resources", "--", &n]));
    assert!(human.contains("notes://index"), "{human}");
    assert!(human.contains("images://logo.png"), "{human}");
    let templates = json_out(&cli(&["list", "templates", "--json", "--", &n]));
    assert!(
        templates
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["uriTemplate"] == "notes://{name}")
    );
    let human = ok(&cli(&["list", "templates", "--", &n]));
    assert!(human.contains("search://notes{?q,limit}"), "{human}");
    let human = ok(&cli(&["list", "prompts", "--", &n]));
    assert!(
        human.contains("review_code(code, language, [focus])"),
        "{human}"
    );
}

#[test]
fn call_reads_key_value_arguments_by_the_tools_schema() {
    let q = quickstart();
    assert_eq!(ok(&cli(&["call", "add", "a=2", "b=3", "--", &q])), "5\n");
    let r = json_out(&cli(&[
        "call",
        "add",
        "--args",
        r#"{"a": 1, "b": 1}"#,
        "b=40",
        "--json",
        "--",
        &q,
    ]));
    assert_eq!(r["structuredContent"], json!({"result": 41}));
    let out = ok(&cli(&[
        "call",
        "convert_temperature",
        "value=100",
        "from=celsius",
        "to=fahrenheit",
        "--",
        &q,
    ]));
    assert_eq!(out, "212.0\n");
    let r = json_out(&cli(&[
        "call",
        "text_stats",
        "text=2 3 3",
        "top=1",
        "--json",
        "--",
        &q,
    ]));
    assert_eq!(r["structuredContent"]["top_words"], json!(["3"]));
    let out = ok(&cli(&["call", "logo", "--", &q]));
    assert_eq!(out, "[image image/png, 69 bytes]\n");
}

#[test]
fn call_failures_have_exit_codes_and_say_what_to_do() {
    let q = quickstart();
    let o = cli(&["call", "divide", "a=1", "b=0", "--", &q]);
    fails(&o, 1, "division by zero");
    assert!(stderr(&o).contains("tool `divide` returned an error"));
    let r: Value = serde_json::from_str(&stdout(&cli(&[
        "call", "divide", "a=1", "b=0", "--json", "--", &q,
    ])))
    .unwrap();
    assert_eq!(r["isError"], true);

    fails(
        &cli(&["call", "nope", "--", &q]),
        1,
        "unknown tool `nope`; the server's tools are: add, convert_temperature",
    );
    fails(
        &cli(&["call", "add", "a=two", "b=1", "--", &q]),
        2,
        "`a` takes an integer",
    );
    fails(
        &cli(&["call", "add", "a=1", "--", &q]),
        2,
        "needs `b=…`; it takes add(a: integer, b: integer)",
    );
    fails(
        &cli(&["call", "add", "a=1", "b=2", "c=3", "--", &q]),
        2,
        "has no argument `c`",
    );
    fails(
        &cli(&["call", "add", "a", "--", &q]),
        2,
        "`a` is not KEY=VALUE",
    );
    fails(
        &cli(&[
            "call",
            "convert_temperature",
            "value=1",
            "from=celsius",
            "to=rankine",
            "--",
            &q,
        ]),
        2,
        "`to` must be one of celsius, fahrenheit, kelvin",
    );
}

#[test]
fn call_shows_progress_when_asked() {
    let o = cli(&["call", "sleep", "ms=200", "--progress", "--", &quickstart()]);
    assert_eq!(ok(&o), "slept 200 ms\n");
    let err = stderr(&o);
    assert!(err.contains("progress 50/200 sleeping"), "{err}");
    assert!(err.contains("progress 200/200 sleeping"), "{err}");
    let o = cli(&["call", "sleep", "ms=10", "--", &quickstart()]);
    assert!(!stderr(&o).contains("progress"), "not on a pipe by default");
}

#[test]
fn read_prints_text_and_summarises_binary() {
    let n = notes();
    let out = ok(&cli(&["read", "docs://guide/intro", "--", &n]));
    assert!(!out.is_empty() && !out.starts_with('{'), "{out}");
    let out = ok(&cli(&["read", "math://sum/1/2/3", "--", &n]));
    assert_eq!(out, "6\n");
    let out = ok(&cli(&["read", "images://logo.png", "--", &n]));
    assert!(out.contains("image/png, 69 bytes"), "{out}");
    let r = json_out(&cli(&["read", "images://logo.png", "--json", "--", &n]));
    assert!(
        r["contents"][0]["blob"]
            .as_str()
            .unwrap()
            .starts_with("iVBOR")
    );
    let o = cli(&["read", "nowhere://x", "--", &n]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn prompt_renders_messages_and_checks_arguments() {
    let n = notes();
    let out = ok(&cli(&[
        "prompt",
        "review_code",
        "code=fn f() {}",
        "language=rust",
        "--",
        &n,
    ]));
    assert!(out.contains("[user]"), "{out}");
    assert!(out.contains("fn f() {}"), "{out}");
    let r = json_out(&cli(&[
        "prompt",
        "review_code",
        "code=x",
        "language=rust",
        "--json",
        "--",
        &n,
    ]));
    assert_eq!(r["messages"][0]["role"], "user");
    fails(
        &cli(&["prompt", "review_code", "code=x", "--", &n]),
        2,
        "needs `language=…`; it takes review_code(code, language, [focus])",
    );
    fails(
        &cli(&[
            "prompt",
            "review_code",
            "code=x",
            "language=c",
            "tone=kind",
            "--",
            &n,
        ]),
        2,
        "no argument `tone`",
    );
    fails(
        &cli(&["prompt", "nope", "--", &n]),
        1,
        "unknown prompt `nope`; the server's prompts are: ",
    );
}

#[test]
fn inspect_prints_the_whole_manifest() {
    let m = json_out(&cli(&["inspect", "--json", "--", &notes()]));
    assert_eq!(m["serverInfo"]["name"], "notes");
    assert_eq!(m["protocolVersion"], "2025-11-25");
    assert!(m["capabilities"]["resources"].is_object());
    assert!(
        m["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "write_note")
    );
    assert!(
        m["resources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["uri"] == "notes://index")
    );
    assert!(!m["resourceTemplates"].as_array().unwrap().is_empty());
    assert!(
        m["prompts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "review_code")
    );
    let m = json_out(&cli(&[
        "inspect",
        "--json",
        "--revision",
        "2024-11-05",
        "--",
        &quickstart(),
    ]));
    assert_eq!(m["protocolVersion"], "2024-11-05");
    assert_eq!(m["tools"].as_array().unwrap().len(), 6);
    assert!(
        m.get("prompts")
            .is_none_or(|p| p.as_array().unwrap().is_empty())
    );
}

#[test]
fn builds_cargo_targets_and_reports_build_failures() {
    let root = workspace_root();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_mcp-cli"))
            .args(args)
            .current_dir(&root)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    assert_eq!(
        ok(&run(&[
            "call",
            "add",
            "a=20",
            "b=22",
            "--example",
            "quickstart"
        ])),
        "42\n"
    );
    let o = run(&["list", "tools", "--example", "no_such_example"]);
    fails(&o, 3, "`cargo build` failed for example `no_such_example`");
    assert!(
        stderr(&o).contains("no example target named `no_such_example`"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bad_command_lines_and_unreachable_servers_fail_clearly() {
    fails(
        &cli(&["list", "tools", "--frobnicate"]),
        2,
        "unknown option `--frobnicate`",
    );
    fails(&cli(&["list"]), 2, "`list` what?");
    fails(&cli(&["fly"]), 2, "unknown command `fly`");
    fails(
        &cli(&["call", "add", "--args", "{nope", "--", "x"]),
        2,
        "`--args` is not JSON",
    );
    fails(
        &cli(&["list", "tools", "--revision", "1999-01-01", "--", "x"]),
        2,
        "unknown revision `1999-01-01`",
    );
    fails(
        &cli(&["list", "tools", "--", "/no/such/server"]),
        3,
        "could not start `/no/such/server`",
    );
    fails(
        &cli(&["list", "tools", "--", "sh", "-c", "echo not a server >&2"]),
        3,
        "exited before answering `initialize`",
    );
    fails(
        &cli(&["list", "tools", "--timeout", "1", "--", "sleep", "5"]),
        3,
        "did not answer `initialize` within 1 s",
    );
    let o = cli(&["list", "tools", "--url", "http://127.0.0.1:1/mcp"]);
    fails(&o, 3, "could not connect to http://127.0.0.1:1/mcp");
    assert!(stderr(&o).contains("is the server running"));
    let o = cli(&["--help"]);
    assert!(ok(&o).contains("mcp-cli call TOOL [KEY=VALUE...]"));
}

/// The quickstart over streamable HTTP on a free port, and its URL.
fn http_quickstart(args: &[&str]) -> (HttpExample, String) {
    let server = HttpExample::start(example_command("quickstart"), args);
    let url = server.url.clone();
    (server, url)
}

#[test]
fn talks_to_a_server_over_http_with_headers() {
    let (_server, url) = http_quickstart(&["--auth-token", "s3cret"]);
    let auth = "Authorization: Bearer s3cret";
    let tools = json_out(&cli(&[
        "list", "tools", "--json", "--url", &url, "-H", auth,
    ]));
    assert_eq!(tools.as_array().unwrap().len(), 6);
    assert_eq!(
        ok(&cli(&[
            "call", "add", "a=2", "b=40", "--url", &url, "--header", auth
        ])),
        "42\n"
    );
    fails(&cli(&["list", "tools", "--url", &url]), 3, "Unauthorized");
}

#[test]
fn a_proxy_in_the_environment_is_not_used_for_this_machine() {
    let (_server, url) = http_quickstart(&[]);
    // A proxy that nothing listens on: going through it would fail.
    let o = Command::new(env!("CARGO_BIN_EXE_mcp-cli"))
        .args(["call", "add", "a=1", "b=1", "--url", &url])
        .env("HTTP_PROXY", "http://127.0.0.1:1")
        .env("http_proxy", "http://127.0.0.1:1")
        .env("ALL_PROXY", "http://127.0.0.1:1")
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(ok(&o), "2\n");
}

#[test]
fn talks_to_an_https_server_whose_ca_it_is_given() {
    let (_server, url) = http_quickstart(&[]);
    let upstream = url
        .strip_prefix("http://")
        .and_then(|u| u.strip_suffix("/mcp"))
        .unwrap()
        .parse()
        .unwrap();
    let proxy = tls::TlsProxy::start(upstream);
    let https = format!("{}/mcp", proxy.origin);
    let ca = proxy.ca_file("cli-ca");
    let ca = ca.to_str().unwrap();
    let tools = json_out(&cli(&[
        "list",
        "tools",
        "--json",
        "--url",
        &https,
        "--ca-cert",
        ca,
    ]));
    assert_eq!(tools.as_array().unwrap().len(), 6);
    assert_eq!(
        ok(&cli(&[
            "call",
            "add",
            "a=2",
            "b=40",
            "--ca-cert",
            ca,
            "--url",
            &https
        ])),
        "42\n"
    );
    // Without the CA the certificate is refused, and the message says how to trust it.
    let o = cli(&["list", "tools", "--url", &https]);
    fails(&o, 3, "certificate");
    assert!(stderr(&o).contains("--ca-cert FILE"), "{}", stderr(&o));
    fails(
        &cli(&[
            "list",
            "tools",
            "--url",
            &https,
            "--ca-cert",
            "/no/such/ca.pem",
        ]),
        2,
        "cannot read the CA certificate `/no/such/ca.pem`",
    );
    fails(
        &cli(&["list", "tools", "--ca-cert", ca, "--", "srv"]),
        2,
        "`--ca-cert` goes with `--url`",
    );
    let _ = std::fs::remove_file(ca);
}

#[test]
fn inspect_writes_the_manifest_to_a_file_with_o() {
    let dir = std::env::temp_dir().join(format!("mcp-cli-inspect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("manifest.json");
    let out = cli(&["inspect", "-o", file.to_str().unwrap(), "--", &notes()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "the manifest goes to the file only");
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(m["serverInfo"]["name"], "notes");
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrote the manifest to"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn install_writes_the_clients_file_and_keeps_a_backup_of_the_old_one() {
    let dir = std::env::temp_dir().join(format!("mcp-cli-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let file = dir.join(".vscode/mcp.json");
    let path = file.to_str().unwrap();
    let out = cli(&["install", "vscode", "--config", path, "--", "notes-server"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        written,
        json!({"servers": {"notes-server": {"type": "stdio", "command": "notes-server", "args": []}}})
    );
    assert!(
        !dir.join(".vscode/mcp.json.bak").exists(),
        "nothing to back up the first time"
    );

    let out = cli(&[
        "install",
        "vscode",
        "--config",
        path,
        "--name",
        "notes",
        "-e",
        "A=1",
        "--",
        "notes-server",
        "-v",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(
        written["servers"]["notes-server"]["command"], "notes-server",
        "kept"
    );
    assert_eq!(
        written["servers"]["notes"],
        json!({"type": "stdio", "command": "notes-server", "args": ["-v"], "env": {"A": "1"}})
    );
    let backup: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(".vscode/mcp.json.bak")).unwrap())
            .unwrap();
    assert!(
        backup["servers"].get("notes").is_none(),
        "the backup is the file before"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn revision_2026_07_28_needs_no_handshake_over_stdio_and_http() {
    let everything = example("everything");
    let rev = ["--revision", "2026-07-28"];
    let manifest = json_out(&cli(&[
        &["inspect", "--json"][..],
        &rev,
        &["--", &everything],
    ]
    .concat()));
    assert_eq!(manifest["protocolVersion"], "2026-07-28");
    assert_eq!(
        manifest["serverInfo"]["name"],
        "mcp-conformance-test-server"
    );
    assert!(
        manifest["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "test_input_required_result_elicitation")
    );
    // Log messages come only to requests that name a level: `--progress` names `info`.
    let o = cli(&[
        &["call", "test_tool_with_logging", "--progress"][..],
        &rev,
        &["--", &everything],
    ]
    .concat());
    assert_eq!(ok(&o), "Tool with logging executed successfully\n");
    assert!(
        stderr(&o).contains("[info] Tool processing data"),
        "{}",
        stderr(&o)
    );
    // The command line declares no capabilities: a tool that asks the user fails and says why.
    fails(
        &cli(&[
            &["call", "test_input_required_result_elicitation"][..],
            &rev,
            &["--", &everything],
        ]
        .concat()),
        1,
        "Missing required client capability",
    );

    let (_server, url) = http_quickstart(&[]);
    assert_eq!(
        ok(&cli(&[
            &["call", "add", "a=2", "b=40", "--url", &url][..],
            &rev
        ]
        .concat())),
        "42\n"
    );
    let o = cli(&[
        &["read", "--json", "--url", &url][..],
        &rev,
        &["notes://nothing"],
    ]
    .concat());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

// ---------------------------------------------------------------- the inspector's web API

/// `mcp-cli dev` on a free port, with the URL it printed.
struct Dev {
    _child: Running,
    _stdout: Lines,
    port: u16,
    token: String,
}

fn dev(args: &[&str], cwd: Option<&std::path::Path>) -> Dev {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-cli"));
    cmd.args(["dev", "--port", "0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = Lines::new(child.stdout.take().unwrap());
    let child = Running(child);
    let url = stdout.find(
        "URL printed by mcp-cli dev",
        Duration::from_secs(120),
        |line| {
            line.strip_prefix("mcp-cli dev: inspector at ")
                .map(str::to_string)
        },
    );
    let rest = url.strip_prefix("http://127.0.0.1:").unwrap();
    let (port, token) = rest.split_once("/?token=").unwrap();
    Dev {
        _child: child,
        _stdout: stdout,
        port: port.parse().unwrap(),
        token: token.to_string(),
    }
}

impl Dev {
    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nX-Inspector-Token: {}\r\nContent-Type: application/json",
            self.port, self.token
        );
        let (code, b) = raw_http(self.port, &head, &body.to_string());
        (code, serde_json::from_str(&b).unwrap_or(Value::Null))
    }

    /// Calls the server through the inspector once it is connected.
    fn rpc(&self, method: &str, params: Value) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (code, v) = self.post("/api/rpc", &json!({"method": method, "params": params}));
            if code == 200 {
                return v;
            }
            assert_eq!(code, 409, "{v}");
            assert!(Instant::now() < deadline, "the inspector never connected");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Reads the event stream until `until` accepts an event (the snapshot included).
    fn events_until(&self, until: impl Fn(&Value) -> bool) -> Value {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(90))).unwrap();
        write!(
            s,
            "GET /api/events?token={} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
            self.token, self.port
        )
        .unwrap();
        for line in BufReader::new(s).lines() {
            let line = line.expect("an event before the timeout");
            if let Some(data) = line.strip_prefix("data: ") {
                let v: Value = serde_json::from_str(data).unwrap();
                if until(&v) {
                    return v;
                }
            }
        }
        panic!("the event stream ended");
    }
}

#[test]
fn the_inspector_api_needs_the_token_the_host_and_the_origin() {
    let d = dev(&["--", &quickstart()], None);
    let host = format!("Host: 127.0.0.1:{}", d.port);
    let (code, page) = raw_http(
        d.port,
        &format!("GET /?token={} HTTP/1.1\r\n{host}", d.token),
        "",
    );
    assert_eq!(code, 200);
    assert!(page.contains("<title>mcp-cli dev</title>"), "{page}");
    let (code, page) = raw_http(d.port, &format!("GET / HTTP/1.1\r\n{host}"), "");
    assert_eq!(code, 403);
    assert!(page.contains("needs its session token"));
    let (code, _) = raw_http(d.port, &format!("GET /?token=0000 HTTP/1.1\r\n{host}"), "");
    assert_eq!(code, 403);

    let body = r#"{"method":"tools/list"}"#;
    let (code, _) = raw_http(d.port, &format!("POST /api/rpc HTTP/1.1\r\n{host}"), body);
    assert_eq!(code, 401, "no token");
    let (code, _) = raw_http(
        d.port,
        &format!(
            "POST /api/rpc HTTP/1.1\r\n{host}\r\nX-Inspector-Token: {}0",
            d.token
        ),
        body,
    );
    assert_eq!(code, 401, "wrong token");
    let (code, _) = raw_http(
        d.port,
        &format!(
            "POST /api/rpc HTTP/1.1\r\nHost: evil.example:{}\r\nX-Inspector-Token: {}",
            d.port, d.token
        ),
        body,
    );
    assert_eq!(code, 403, "DNS rebinding: another Host");
    let (code, _) = raw_http(
        d.port,
        &format!(
            "POST /api/rpc HTTP/1.1\r\n{host}\r\nOrigin: http://evil.example\r\nX-Inspector-Token: {}",
            d.token
        ),
        body,
    );
    assert_eq!(code, 403, "another origin");
    let (code, _) = raw_http(d.port, &format!("GET /api/events HTTP/1.1\r\n{host}"), "");
    assert_eq!(code, 401, "events need the token too");

    let r = d.rpc(
        "tools/call",
        json!({"name": "add", "arguments": {"a": 2, "b": 3}}),
    );
    assert_eq!(
        r["result"]["structuredContent"],
        json!({"result": 5}),
        "{r}"
    );
    assert!(r["ms"].as_f64().unwrap() >= 0.0);
    let r = d.rpc("tools/call", json!({"name": "nope"}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    // The history holds both directions of every message.
    let snap = d.events_until(|e| e["type"] == "snapshot");
    let history = snap["history"].as_array().unwrap();
    assert!(
        history
            .iter()
            .any(|h| h["dir"] == "out" && h["msg"]["method"] == "initialize")
    );
    assert!(
        history
            .iter()
            .any(|h| h["dir"] == "in" && h["msg"]["result"]["structuredContent"]["result"] == 5)
    );
    assert_eq!(snap["status"]["state"], "connected");
    assert_eq!(snap["status"]["serverInfo"]["name"], "quickstart");
}

#[test]
fn the_inspector_switches_revisions_and_shows_build_failures() {
    let d = dev(&["--", &quickstart()], None);
    d.rpc("ping", json!({}));
    let (code, _) = d.post("/api/reconnect", &json!({"revision": "2099-01-01"}));
    assert_eq!(code, 400);
    let (code, _) = d.post("/api/reconnect", &json!({"revision": "2025-03-26"}));
    assert_eq!(code, 200);
    let e = d.events_until(|e| {
        let s = &e["status"];
        s["state"] == "connected" && s["protocolVersion"] == "2025-03-26"
    });
    assert_eq!(e["status"]["requested"], "2025-03-26");
    assert_eq!(e["status"]["mode"], "handshake");
    // 2026-07-28: no handshake, no session; the page's log level and resource subscriptions
    // become the revision's `_meta` and `subscriptions/listen`.
    let (code, _) = d.post("/api/reconnect", &json!({"revision": "2026-07-28"}));
    assert_eq!(code, 200);
    let e = d.events_until(|e| {
        let s = &e["status"];
        s["state"] == "connected" && s["protocolVersion"] == "2026-07-28"
    });
    assert_eq!(e["status"]["mode"], "per-request");
    assert_eq!(e["status"]["sessionId"], Value::Null);
    let r = d.rpc(
        "tools/call",
        json!({"name": "add", "arguments": {"a": 1, "b": 2}}),
    );
    assert_eq!(
        r["result"]["structuredContent"],
        json!({"result": 3}),
        "{r}"
    );
    assert!(r["result"].get("resultType").is_none(), "{r}");
    let r = d.rpc("logging/setLevel", json!({"level": "debug"}));
    assert_eq!(r["result"], json!({}), "{r}");
    let r = d.rpc("logging/setLevel", json!({"level": "loud"}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    d.rpc(
        "tools/call",
        json!({"name": "add", "arguments": {"a": 1, "b": 2}}),
    );
    let snap = d.events_until(|e| e["type"] == "snapshot");
    let sent: Vec<&Value> = snap["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["dir"] == "out")
        .map(|h| &h["msg"])
        .collect();
    let since = sent
        .iter()
        .rposition(|m| m["method"] == "server/discover")
        .expect("server/discover was sent");
    let per_request = &sent[since..];
    assert!(
        !per_request
            .iter()
            .any(|m| m["method"] == "initialize" || m["method"] == "logging/setLevel"),
        "no handshake, and the level is the client's own: {per_request:?}"
    );
    let last_call = per_request
        .iter()
        .rev()
        .find(|m| m["method"] == "tools/call")
        .unwrap();
    let meta = &last_call["params"]["_meta"];
    assert_eq!(
        meta["io.modelcontextprotocol/protocolVersion"],
        "2026-07-28"
    );
    assert_eq!(meta["io.modelcontextprotocol/logLevel"], "debug");

    let root = workspace_root();
    let d = dev(&["--example", "no_such_example"], Some(&root));
    let e = d.events_until(|e| e["status"]["state"] == "build_failed");
    let output = e["status"]["output"].as_str().unwrap();
    assert!(
        output.contains("no example target named `no_such_example`"),
        "{output}"
    );
}

#[test]
fn the_inspector_restarts_the_server_when_watched_files_change() {
    let dir = std::env::temp_dir().join(format!("mcp-cli-dev-watch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("server.py"), "v1").unwrap();
    let d = dev(&["--watch", "--", &quickstart()], Some(&dir));
    d.rpc("ping", json!({}));
    std::fs::write(dir.join("server.py"), "version 2").unwrap();
    let e = d.events_until(|e| {
        let s = &e["status"];
        s["state"] == "connected" && s["attempt"] == 2
    });
    assert_eq!(e["status"]["serverInfo"]["name"], "quickstart");
    let snap = d.events_until(|e| e["type"] == "snapshot");
    let stderr: Vec<&str> = snap["stderr"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        stderr
            .iter()
            .any(|l| l.contains("server.py changed: restarting")),
        "{stderr:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_inspector_connects_to_a_server_url_with_headers() {
    let (_server, url) = http_quickstart(&["--auth-token", "s3cret"]);
    let d = dev(
        &["--url", &url, "--header", "Authorization: Bearer s3cret"],
        None,
    );
    let r = d.rpc(
        "tools/call",
        json!({"name": "add", "arguments": {"a": 2, "b": 40}}),
    );
    assert_eq!(r["result"]["structuredContent"]["result"], 42, "{r}");
    let snap = d.events_until(|e| e["type"] == "snapshot");
    assert_eq!(snap["status"]["serverInfo"]["name"], "quickstart", "{snap}");
    assert_eq!(snap["status"]["state"], "connected");
    assert_eq!(snap["target"], url.as_str());
    assert!(
        snap["status"]["sessionId"].is_string(),
        "a streamable HTTP session"
    );
}

/// `keys create` makes a key a server with `--api-keys` accepts; the file holds its digest.
#[test]
fn keys_create_makes_a_key_the_server_accepts() {
    let dir = std::env::temp_dir().join(format!("mcp-cli-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keys.jsonl");
    let o = cli(&[
        "keys",
        "create",
        "--name",
        "ci",
        "--scope",
        "a,b",
        "--expires-in",
        "30",
        "--json",
        "--file",
        file.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let made: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let key = made["key"].as_str().unwrap();
    assert!(key.starts_with("mcpk_"), "{key}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(key), "the file holds no key");
    let line: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(line["name"], "ci");
    assert_eq!(line["scopes"], json!(["a", "b"]));
    assert!(line["expires"].as_str().unwrap().ends_with('Z'));

    let server = HttpExample::start(
        example_command("quickstart"),
        &["--api-keys", file.to_str().unwrap()],
    );
    let header = format!("X-API-Key: {key}");
    let o = cli(&[
        "call",
        "add",
        "a=2",
        "b=3",
        "--url",
        &server.url,
        "-H",
        &header,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "5");
    let o = cli(&["call", "add", "a=2", "b=3", "--url", &server.url]);
    assert!(!o.status.success(), "no key, no call");

    let o = cli(&["keys", "create", "--name", "x", "--scope", "a b"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("the scope \"a b\""), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir).unwrap();
}
