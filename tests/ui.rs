//! Compile-fail and must-compile tests of `#[tool]`, `#[resource]` and `#[prompt]`.
//!
//! Regenerate the expected `.stderr` files with `TRYBUILD=overwrite cargo test --test ui`, then
//! read the diff: every message must point at the right token and say what to do.

#[test]
fn tool() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/tool/fail/*.rs");
    t.pass("tests/ui/tool/pass/*.rs");
}

#[test]
fn resource() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/resource/fail/*.rs");
    t.pass("tests/ui/resource/pass/*.rs");
}

#[test]
fn prompt() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/prompt/fail/*.rs");
    t.pass("tests/ui/prompt/pass/*.rs");
}
