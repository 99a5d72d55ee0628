//! The deploy kit in `deploy/`: the Kubernetes manifests and the compose file are read, the
//! server is started with exactly the arguments, environment and config file they declare
//! (the listening port aside: a free one instead of 8000), and the ports and paths they name
//! are probed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mcp_workspace::{HttpExample, example_command, raw_http, workspace_root};

fn read(path: &str) -> String {
    std::fs::read_to_string(workspace_root().join("deploy").join(path))
        .unwrap_or_else(|e| panic!("deploy/{path}: {e}"))
}

/// The value after `key:` on the first line (trimmed) that starts with it, after line `from`.
fn value_after<'a>(text: &'a str, from: &str, key: &str) -> &'a str {
    let start = text
        .find(from)
        .unwrap_or_else(|| panic!("no `{from}` in {text}"));
    text[start..]
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix(':')))
        .unwrap_or_else(|| panic!("no `{key}:` after `{from}`"))
        .trim()
}

/// A YAML flow sequence of double-quoted strings, e.g. `["--config", "/etc/mcp/mcp.toml"]`
/// (which is JSON).
fn flow_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A YAML scalar: a JSON-quoted string, or plain text.
fn scalar(text: &str) -> String {
    serde_json::from_str(text).unwrap_or_else(|_| text.to_string())
}

/// The literal block (`key: |`) that follows `key`, dedented.
fn literal_block(text: &str, key: &str) -> String {
    let mut lines = text.lines().skip_while(|l| l.trim() != format!("{key}: |"));
    let head = lines.next().expect("the block's key");
    let indent = head.len() - head.trim_start().len();
    let mut out = String::new();
    for line in lines {
        let inner = line.len() - line.trim_start().len();
        if !line.trim().is_empty() && inner <= indent {
            break;
        }
        out.push_str(line.get(inner.min(indent + 2)..).unwrap_or(""));
        out.push('\n');
    }
    out
}

/// `- name: X` / `value: "Y"` pairs of a container's `env:`.
fn env_list(text: &str) -> BTreeMap<String, String> {
    let block = &text[text.find("env:").expect("env:")..];
    let lines: Vec<&str> = block.lines().map(str::trim).collect();
    let mut env = BTreeMap::new();
    for pair in lines.windows(2) {
        if let (Some(name), Some(value)) = (
            pair[0].strip_prefix("- name: "),
            pair[1].strip_prefix("value: "),
        ) {
            env.insert(name.to_string(), scalar(value));
        }
    }
    env
}

/// A fresh directory for the files the manifests mount.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mcp-deploy-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `path` under a mount point, moved to the same place under `root`.
fn remount(path: &str, root: &Path) -> String {
    root.join(path.trim_start_matches('/'))
        .to_string_lossy()
        .into_owned()
}

fn write(path: &str, text: &str) {
    let path = Path::new(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn port_of(server: &HttpExample) -> u16 {
    server.addr().rsplit(':').next().unwrap().parse().unwrap()
}

/// An MCP `initialize` with `Host: host` and `headers`; the status.
fn initialize(port: u16, host: &str, headers: &str) -> u16 {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"deploy","version":"0"}}}"#;
    let head = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream{headers}"
    );
    raw_http(port, &head, body).0
}

#[test]
fn the_kubernetes_manifests_run_as_declared() {
    let mut kinds: Vec<String> = std::fs::read_dir(workspace_root().join("deploy/k8s"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .map(|t| value_after(&t, "apiVersion", "kind").to_string())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "ConfigMap",
            "Deployment",
            "HorizontalPodAutoscaler",
            "PodDisruptionBudget",
            "Secret",
            "Service"
        ]
    );
    let deployment = read("k8s/deployment.yaml");
    let args = flow_list(value_after(&deployment, "containers:", "args"));
    let env = env_list(&deployment);
    let port: u16 = value_after(&deployment, "ports:", "containerPort")
        .parse()
        .unwrap();
    let port_name = value_after(&deployment, "ports:", "- name");
    let live = value_after(&deployment, "livenessProbe:", "path");
    let ready = value_after(&deployment, "readinessProbe:", "path");
    assert_eq!(
        value_after(&deployment, "livenessProbe:", "port"),
        port_name
    );
    assert_eq!(
        value_after(&deployment, "readinessProbe:", "port"),
        port_name
    );
    assert!(deployment.contains("limits:") && deployment.contains("runAsNonRoot: true"));
    let config_mount = value_after(&deployment, "- name: config", "mountPath");
    let keys_mount = value_after(&deployment, "- name: api-keys\n", "mountPath");

    // The ConfigMap's mcp.toml and the Secret's key file, where the pod mounts them.
    let root = scratch("k8s");
    let configmap = read("k8s/configmap.yaml");
    let toml = literal_block(&configmap, "mcp.toml");
    assert!(toml.contains(&format!("port = {port}")), "{toml}");
    let toml = toml.replace(keys_mount, &remount(keys_mount, &root));
    write(&remount(&format!("{config_mount}/mcp.toml"), &root), &toml);
    let secret = read("k8s/secret.yaml");
    assert!(secret.contains("api-keys.jsonl:"), "{secret}");
    let key = mcp_runtime::auth::api_keys::generate("deploy-test", &[], None).unwrap();
    write(
        &remount(&format!("{keys_mount}/api-keys.jsonl"), &root),
        &format!("{}\n", key.line),
    );
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            if a.starts_with(config_mount) {
                remount(a, &root)
            } else {
                a.clone()
            }
        })
        .collect();
    let mut command = example_command("quickstart");
    command.envs(&env);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // `--port 0` (a flag beats the file) comes first; the manifest's arguments follow.
    let server = HttpExample::start(command, &args);
    let port = port_of(&server);

    assert_eq!(
        raw_http(port, &format!("GET {live} HTTP/1.1\r\nHost: 10.0.0.7"), ""),
        (200, "ok\n".into())
    );
    assert_eq!(
        raw_http(port, &format!("GET {ready} HTTP/1.1\r\nHost: 10.0.0.7"), ""),
        (200, "ready\n".into())
    );
    // The API keys of the Secret are required, and the allowed host is accepted.
    assert_eq!(initialize(port, "mcp.example.com", ""), 401);
    let with_key = format!("\r\nX-API-Key: {}", key.secret);
    assert_eq!(initialize(port, "mcp.example.com", &with_key), 200);
    assert_eq!(initialize(port, "evil.example", &with_key), 403);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn the_compose_file_and_the_dockerfile_run_as_declared() {
    let compose = read("compose.yaml");
    for service in ["server:", "redis:", "postgres:"] {
        assert!(compose.contains(&format!("\n  {service}")), "{service}");
    }
    let command = flow_list(value_after(&compose, "server:", "command"));
    let dockerfile = read("Dockerfile");
    let cmd = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("CMD "))
        .expect("CMD");
    assert_eq!(flow_list(cmd), command, "compose runs the image's command");
    let user = dockerfile
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("USER");
    assert!(
        !user.starts_with('0') && !user.starts_with("root"),
        "{user}"
    );
    // The config file the image copies, where it copies it.
    let (from, to) = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("COPY deploy/mcp.toml "))
        .map(|to| ("mcp.toml", to.trim()))
        .expect("the image's config file");
    let root = scratch("compose");
    write(&remount(to, &root), &read(from));
    let mut env = BTreeMap::new();
    let block = &compose[compose.find("    environment:").unwrap()..];
    for line in block.lines().skip(1) {
        let Some((k, v)) = line.trim().split_once(": ") else {
            break;
        };
        if !line.starts_with("      ") {
            break;
        }
        env.insert(k.to_string(), scalar(v));
    }
    let keys = env.get("MCP_API_KEYS").expect("the API keys").clone();
    let key = mcp_runtime::auth::api_keys::generate("compose-test", &[], None).unwrap();
    write(&remount(&keys, &root), &format!("{}\n", key.line));
    env.insert("MCP_API_KEYS".into(), remount(&keys, &root));
    let args: Vec<String> = command
        .iter()
        .map(|a| {
            if a == to {
                remount(a, &root)
            } else {
                a.clone()
            }
        })
        .collect();
    let mut cmd = example_command("quickstart");
    cmd.envs(&env);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = HttpExample::start(cmd, &args);
    let port = port_of(&server);
    assert_eq!(
        raw_http(port, "GET /readyz HTTP/1.1\r\nHost: localhost", ""),
        (200, "ready\n".into())
    );
    let with_key = format!("\r\nX-API-Key: {}", key.secret);
    assert_eq!(initialize(port, "localhost", &with_key), 200);
    assert_eq!(initialize(port, "localhost", ""), 401);
    let _ = std::fs::remove_dir_all(&root);
}
