//! Cargo features: a stdio-only server depends on no HTTP stack.

use std::process::Command;

/// The normal dependencies of `mcp-runtime` built with these features.
fn tree(features: &str) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "-p",
            "mcp-runtime",
            "--no-default-features",
            "-e",
            "normal",
        ])
        .args(["--features", features, "--prefix", "none", "--offline"])
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cargo tree prints UTF-8")
}

fn has(tree: &str, krate: &str) -> bool {
    tree.lines()
        .any(|l| l.split_whitespace().next() == Some(krate))
}

#[test]
fn a_stdio_only_server_builds_without_hyper_or_reqwest() {
    let stdio = tree("stdio");
    assert!(
        has(&stdio, "mcp-runtime") && has(&stdio, "tokio"),
        "{stdio}"
    );
    for krate in [
        "hyper",
        "hyper-util",
        "reqwest",
        "http-body-util",
        "hmac",
        "sha2",
        "subtle",
        "jsonwebtoken",
    ] {
        assert!(
            !has(&stdio, krate),
            "`{krate}` in a stdio-only build:\n{stdio}"
        );
    }
    // The features that need them do pull them in.
    assert!(has(&tree("http-server"), "hyper"));
    assert!(has(&tree("client-http"), "hyper"));
    assert!(has(&tree("stdio,per-request-crypto"), "hmac"));
    assert!(has(&tree("http-server,auth"), "subtle"));
    assert!(has(&tree("http-server,oauth"), "jsonwebtoken"));
}
