//! What the context store's tests share: a real Postgres (Debian's `postgresql`) started in a
//! temporary directory on a free port, a server over each engine, and calls by principal.
#![allow(dead_code, unreachable_pub)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use context_store::{App, Limits, Store};
use mcp_runtime::{CallToolResult, Client, ClientOptions, Principal};
use mcp_workspace::Running;
use mcp_workspace::cluster::{TempDir, free_port};
use serde_json::Value;

/// The newest Debian Postgres binaries (`/usr/lib/postgresql/<version>/bin`).
fn postgres_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    match versions.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "Postgres is not installed: these tests need Debian's `postgresql` \
             (apt-get install postgresql; scripts/test installs it)"
        ),
    }
}

/// The uid and gid of `nobody`, for running Postgres when the tests run as root.
fn nobody() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "nobody"])
            .output()
            .expect("running `id`");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("nobody's id")
    };
    (id("-u"), id("-g"))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A Postgres server of its own, stopped and removed when dropped.
pub struct Postgres {
    pub port: u16,
    child: Option<Running>,
    dir: TempDir,
}

impl Postgres {
    pub fn start() -> Postgres {
        let bin = postgres_bin();
        let dir = TempDir::new("ctx-postgres");
        let data = dir.0.join("data");
        let root = is_root();
        if root {
            // Postgres refuses to run as root: the directory is nobody's, and so is the server.
            let (uid, gid) = nobody();
            let status = Command::new("chown")
                .arg(format!("{uid}:{gid}"))
                .arg(&dir.0)
                .status()
                .expect("chown");
            assert!(status.success(), "chown of the Postgres directory failed");
        }
        let as_owner = |program: &Path| {
            let mut c = Command::new(program);
            c.env("LC_ALL", "C").env_remove("PGDATA");
            if root {
                let (uid, gid) = nobody();
                c.uid(uid).gid(gid);
            }
            c
        };
        let out = as_owner(&bin.join("initdb"))
            .args(["-D"])
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
            .output()
            .expect("running initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let child = as_owner(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(&dir.0)
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=200",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting postgres");
        let child = Running(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = Command::new(bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &port.to_string()])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "postgres did not get ready in 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Postgres {
            port,
            child: Some(child),
            dir,
        }
    }

    /// The URL of database `db` (created by [`Postgres::database`]).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// A new empty database, and its URL.
    pub async fn database(&self, name: &str) -> String {
        use sqlx::Executor;
        let admin = sqlx::PgPool::connect(&self.url("postgres"))
            .await
            .expect("connecting");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("CREATE DATABASE");
        admin.close().await;
        self.url(name)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Killed before its directory is removed.
        drop(self.child.take());
        let _ = &self.dir;
    }
}

/// A store on a fresh SQLite directory (kept alive by the returned directory).
pub async fn sqlite_store() -> (Store, TempDir) {
    let dir = TempDir::new("ctx-sqlite");
    let store = Store::open_sqlite(&dir.0).await.expect("opening SQLite");
    (store, dir)
}

/// An in-memory client of a server on `app`, calling as `subject` with `scopes`.
pub async fn client(app: App, subject: &str, scopes: &[&str]) -> Client {
    client_with(
        app,
        Principal::new(subject, scopes.iter().copied()),
        ClientOptions::default(),
    )
    .await
}

pub async fn client_with(app: App, who: Principal, options: ClientOptions) -> Client {
    Client::connect_as(context_store::server(app, None), who, options)
        .await
        .expect("connecting")
}

/// The limits of every test server.
pub fn limits() -> Limits {
    Limits::default()
}

/// A tool call's structured result; panics on a tool error.
pub async fn call(c: &Client, tool: &str, args: Value) -> Value {
    let r = c
        .call_tool(tool, args.clone())
        .await
        .unwrap_or_else(|e| panic!("{tool} {args}: {e}"));
    assert!(!is_error(&r), "{tool} {args} failed: {}", text(&r));
    r.structured_content.clone().expect("structured content")
}

/// A tool call that must fail; its message.
pub async fn call_err(c: &Client, tool: &str, args: Value) -> String {
    match c.call_tool(tool, args.clone()).await {
        Ok(r) => {
            assert!(
                is_error(&r),
                "{tool} {args} should have failed: {:?}",
                r.structured_content
            );
            text(&r)
        }
        Err(e) => e.to_string(),
    }
}

pub fn is_error(r: &CallToolResult) -> bool {
    r.is_error
}

pub fn text(r: &CallToolResult) -> String {
    serde_json::to_value(&r.content)
        .ok()
        .and_then(|v| v.get(0).and_then(|c| c["text"].as_str().map(String::from)))
        .unwrap_or_default()
}

/// Runs tests/python/sdk_client.py with the venv's Python; panics (with its output) unless
/// every check passed. Its stdout.
pub fn python_sdk(args: &[&str]) -> String {
    let root = mcp_workspace::workspace_root();
    let python = root.join(".cache/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: the official MCP Python SDK's venv is made by scripts/test (tests/interop/python/requirements.txt)",
        python.display()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/sdk_client.py");
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .expect("running the Python SDK client");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the Python SDK client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
