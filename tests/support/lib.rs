//! Helpers shared by the workspace's end-to-end tests and benchmarks.

use std::path::PathBuf;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The path of a built example binary (`cargo build --examples` builds them).
pub fn example_binary(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    target.join(profile).join("examples").join(name)
}

/// What the benchmark harnesses (`benches/*.rs`) share.
pub mod bench {
    use std::path::PathBuf;
    use std::process::Command;

    /// A number from the environment, or `default`.
    pub fn env_num(name: &str, default: u64) -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    /// The `p` quantile (0 to 1) of sorted samples; 0 when there are none.
    pub fn percentile(sorted: &[u64], p: f64) -> u64 {
        if sorted.is_empty() {
            return 0;
        }
        let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[i]
    }

    /// The median of the values (which it sorts).
    pub fn median(v: &mut [f64]) -> f64 {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    }

    /// Builds these examples with the bench profile (unless `MCP_BENCH_NO_BUILD` is set) and
    /// returns their paths, in order.
    pub fn build_examples(names: &[&str]) -> Vec<PathBuf> {
        let mut args = vec!["build", "--profile", "bench"];
        for n in names {
            args.extend(["--example", n]);
        }
        let command = format!("cargo {}", args.join(" "));
        if std::env::var_os("MCP_BENCH_NO_BUILD").is_none() {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            eprintln!("building the examples: {command}");
            let status = Command::new(cargo)
                .current_dir(super::workspace_root())
                .args(&args)
                .status()
                .expect("running cargo");
            assert!(status.success(), "building the examples failed");
        }
        let paths: Vec<PathBuf> = names.iter().map(|n| super::example_binary(n)).collect();
        for p in &paths {
            assert!(p.exists(), "{} is missing; run `{command}`", p.display());
        }
        paths
    }
}
