//! Compile-fail and must-compile tests of `#[tool]`, `#[resource]`, `#[prompt]` and `#[derive(Form)]`.
//!
//! The expected `.stderr` files are rustc's output, which changes between releases, so they are
//! written for one toolchain, [`PINNED`], and the tests refuse to run on another (failing, not
//! skipping). Run them with `cargo +1.95.0 test --test ui` when the default toolchain is a
//! different one.
//!
//! Regenerate the expected `.stderr` files with `TRYBUILD=overwrite cargo test --test ui`, then
//! read the diff: every message must point at the right token and say what to do.

use std::process::Command;

/// The rustc release the `.stderr` snapshots are written for.
const PINNED: &str = "1.95.0";

/// Fails unless the toolchain compiling the cases (the one running this test, as cargo and
/// rustup pass it down) is the pinned one.
fn pinned_toolchain() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(&rustc)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{rustc} --version`: {e}"));
    let version = String::from_utf8_lossy(&out.stdout);
    let release = version.split_whitespace().nth(1).unwrap_or("");
    assert!(
        release == PINNED,
        "the UI tests' `.stderr` files are written for rustc {PINNED}, and this is `{}`: run \
         `cargo +{PINNED} test --test ui` (after `rustup toolchain install {PINNED}`); to move the \
         pin, change `PINNED` in tests/ui.rs and regenerate with `TRYBUILD=overwrite`",
        version.trim()
    );
}

#[test]
fn tool() {
    pinned_toolchain();
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/tool/fail/*.rs");
    t.pass("tests/ui/tool/pass/*.rs");
}

#[test]
fn resource() {
    pinned_toolchain();
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/resource/fail/*.rs");
    t.pass("tests/ui/resource/pass/*.rs");
}

#[test]
fn prompt() {
    pinned_toolchain();
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/prompt/fail/*.rs");
    t.pass("tests/ui/prompt/pass/*.rs");
}

#[test]
fn apps() {
    pinned_toolchain();
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/apps/fail/*.rs");
    t.pass("tests/ui/apps/pass/*.rs");
}

#[test]
fn form() {
    pinned_toolchain();
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/form/fail/*.rs");
    t.pass("tests/ui/form/pass/*.rs");
}
