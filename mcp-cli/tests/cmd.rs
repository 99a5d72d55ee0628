//! Transcripts of `mcp-cli` (tests/cmd/*.toml with their .stdout and .stderr): the help of
//! every command, `--version`, bad command lines, and commands against the examples over
//! stdio (built by `cargo build --examples`). `TRYCMD=overwrite` rewrites them after a
//! deliberate change.

#[test]
fn transcripts() {
    trycmd::TestCases::new()
        .register_bin(
            "mcp-cli",
            std::path::Path::new(env!("CARGO_BIN_EXE_mcp-cli")),
        )
        .case("tests/cmd/*.toml");
}
