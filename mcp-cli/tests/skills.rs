//! `mcp-cli skills list|get|verify` against the everything example (built by
//! `cargo build --examples`), which serves examples/everything/skills.

use std::process::{Command, Output, Stdio};

use mcp_workspace::built_example;
use serde_json::Value;

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mcp-cli"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn everything() -> String {
    built_example("everything").to_string_lossy().into_owned()
}

#[track_caller]
fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn skills_are_listed_got_and_verified() {
    let e = everything();
    let out = ok(&cli(&["skills", "list", "--", &e]));
    assert!(
        out.contains("pdf-processing  skill://pdf-processing/SKILL.md  (3 files)"),
        "{out}"
    );
    assert!(out.contains("Write release notes"), "{out}");

    let list: Value =
        serde_json::from_str(&ok(&cli(&["skills", "list", "--json", "--", &e]))).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(list[0]["frontmatter"]["metadata"]["version"], "1.0");

    let out = ok(&cli(&["skills", "get", "pdf-processing", "--", &e]));
    assert!(out.starts_with("---\nname: pdf-processing\n"), "{out}");
    let out = ok(&cli(&[
        "skills",
        "get",
        "skill://release-notes/SKILL.md",
        "--",
        &e,
    ]));
    assert!(out.contains("# Release notes"), "{out}");

    let out = ok(&cli(&["skills", "verify", "--", &e]));
    assert!(out.contains("ok      pdf-processing  (3 files"), "{out}");
    assert!(out.contains("ok      release-notes  (1 files"), "{out}");
    // The same over the per-request revision.
    let out = ok(&cli(&[
        "skills",
        "verify",
        "--revision",
        "2026-07-28",
        "--",
        &e,
    ]));
    assert!(out.contains("ok      release-notes"), "{out}");
}

#[test]
fn skills_errors_say_what_to_do() {
    let e = everything();
    let o = cli(&["skills", "get", "nope", "--", &e]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no skill `nope`; the server's skills are: pdf-processing, release-notes"),
        "{err}"
    );
    let o = cli(&["skills", "get", "--", &e]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = cli(&["skills", "frobnicate", "--", &e]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown skills command"));
    let q = built_example("quickstart").to_string_lossy().into_owned();
    let o = cli(&["skills", "list", "--", &q]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not declare the skills extension"));
}
