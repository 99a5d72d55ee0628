//! The servers the stdio and HTTP benchmarks run, built by `benches/bench_server`, a crate
//! apart from the workspace: `bench_add` (examples/bench_add.rs) with mcp-runtime's default
//! features and `metrics` only, and the baselines (examples/raw_stdio_add.rs,
//! examples/raw_http_add.rs) with the same profile. Built inside the workspace, `bench_add`
//! would get every feature the workspace's dev-dependencies turn on (OTLP, Redis, TLS,
//! fuzzing), and so a binary several times the size of a user's server, whose loading and
//! page faults the cold-start and memory figures would then measure.

use std::path::PathBuf;
use std::process::Command;

/// Builds the servers with `cargo build --release` in `benches/bench_server`, into
/// `<target>/bench-server` (unless `MCP_BENCH_NO_BUILD` is set), and returns the paths of
/// the binaries named, in order.
pub fn build(names: &[&str]) -> Vec<PathBuf> {
    build_with(names, None)
}

/// As [`build`], with one of this crate's features (`oauth`) turned on, into
/// `<target>/bench-server-<feature>`.
pub fn build_with(names: &[&str], feature: Option<&str>) -> Vec<PathBuf> {
    let root = mcp_workspace::workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join(match feature {
            None => "bench-server".to_string(),
            Some(f) => format!("bench-server-{f}"),
        });
    let manifest = root.join("benches/bench_server/Cargo.toml");
    let features = feature
        .map(|f| format!(" --features {f}"))
        .unwrap_or_default();
    let command = format!(
        "CARGO_TARGET_DIR={} cargo build --release --manifest-path {}{features}",
        target.display(),
        manifest.display()
    );
    if std::env::var_os("MCP_BENCH_NO_BUILD").is_none() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        eprintln!("building the servers apart from the workspace: {command}");
        let mut build = Command::new(cargo);
        build
            .current_dir(root.join("benches/bench_server"))
            .env("CARGO_TARGET_DIR", &target)
            .args(["build", "--release", "--manifest-path"])
            .arg(&manifest);
        if let Some(f) = feature {
            build.args(["--features", f]);
        }
        for name in names {
            build.args(["--bin", name]);
        }
        let status = build.status().expect("running cargo");
        assert!(status.success(), "building the benchmark servers failed");
    }
    names
        .iter()
        .map(|name| {
            let bin = target.join("release").join(name);
            assert!(
                bin.exists(),
                "{} is missing; run `{command}`",
                bin.display()
            );
            bin
        })
        .collect()
}
