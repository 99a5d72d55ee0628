//! The context store's deploy kit (`deploy/context-store/`): the Kubernetes deployment's
//! arguments and environment start the real binary on Postgres and Redis (the secret's
//! database URL and the Redis host swapped for the test's own), `/readyz` checks the database
//! and the cache, `/metrics` has the application's counters, and the API keys are enforced.

mod support;

use std::collections::BTreeMap;
use std::process::Command;

use mcp_workspace::cluster::{Redis, TempDir};
use mcp_workspace::{HttpExample, raw_http, workspace_root};

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace_root().join("deploy/context-store").join(path)).unwrap()
}

/// `args: ["a", "b"]` of the container.
fn args(deployment: &str) -> Vec<String> {
    let line = deployment
        .lines()
        .find(|l| l.trim_start().starts_with("args:"))
        .expect("args");
    let list = line
        .split_once('[')
        .unwrap()
        .1
        .trim_end()
        .trim_end_matches(']');
    list.split(',')
        .map(|a| a.trim().trim_matches('"').to_string())
        .collect()
}

/// The container's `env`: plain values, and `secretKeyRef` entries as `secret:KEY`.
fn env(deployment: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut name = None;
    for line in deployment.lines().map(str::trim) {
        if let Some(n) = line.strip_prefix("- name: ") {
            name = Some(n.to_string());
        } else if let (Some(v), Some(n)) = (line.strip_prefix("value: "), &name) {
            out.insert(n.clone(), v.trim_matches('"').to_string());
        } else if let (Some(k), Some(n)) = (line.strip_prefix("key: "), &name) {
            out.entry(n.clone()).or_insert(format!("secret:{k}"));
        } else if line.starts_with("ports:") {
            break;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_kubernetes_deployment_runs_as_declared() {
    let deployment = read("k8s/deployment.yaml");
    let mut env = env(&deployment);
    assert_eq!(env["CONTEXT_STORE_DATABASE_URL"], "secret:database-url");
    assert!(read("k8s/secret.yaml").contains("database-url:"));
    assert!(read("compose.yaml").contains("CONTEXT_STORE_DATABASE_URL"));

    let pg = support::Postgres::start();
    let mut redis = Redis::start();
    let dir = TempDir::new("ctx-deploy");
    env.insert(
        "CONTEXT_STORE_DATABASE_URL".into(),
        pg.database("deploy").await,
    );
    assert_eq!(env["MCP_REDIS_URL"], "redis://redis:6379");
    env.insert("MCP_REDIS_URL".into(), redis.url());
    let key = mcp_runtime::auth::api_keys::generate("deploy-test", &["contexts:read".into()], None)
        .unwrap();
    let keys = dir.0.join("api-keys.jsonl");
    std::fs::write(&keys, format!("{}\n", key.line)).unwrap();
    env.insert("MCP_API_KEYS".into(), keys.to_string_lossy().into());
    let host = env["MCP_ALLOWED_HOSTS"]
        .split(',')
        .next()
        .unwrap()
        .to_string();

    let mut command = Command::new(env!("CARGO_BIN_EXE_context-store"));
    command.envs(&env);
    let mut args = args(&deployment);
    // The declared arguments, then a loopback address and a free port for the test.
    args.extend(["--host", "127.0.0.1", "--port", "0"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = HttpExample::start(command, &args);
    let port: u16 = server.addr().rsplit(':').next().unwrap().parse().unwrap();
    let get = |path: &str| raw_http(port, &format!("GET {path} HTTP/1.1\r\nHost: {host}"), "");
    assert_eq!(get("/readyz"), (200, "ready\n".into()), "{}", server.log());

    let initialize = |headers: &str| {
        let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"deploy","version":"0"}}}"#;
        let head = format!(
            "POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream{headers}"
        );
        raw_http(port, &head, body).0
    };
    assert_eq!(initialize(&format!("\r\nX-API-Key: {}", key.secret)), 200);
    assert_eq!(initialize(""), 401);

    let (status, metrics) = get("/metrics");
    assert_eq!(status, 200);
    for series in [
        "context_store_messages_appended_total",
        "context_store_cache_hits",
        "mcp_server_requests",
    ] {
        assert!(metrics.contains(series), "{series} in\n{metrics}");
    }

    // Without its cache the server is not ready, and says which check failed.
    redis.stop();
    let (status, body) = get("/readyz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("cache"), "{body}");
}
