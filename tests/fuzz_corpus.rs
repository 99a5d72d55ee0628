//! The fuzz targets on the stable toolchain: every input of the checked-in corpus
//! (`fuzz/corpus/<target>/`) and every saved crash (`fuzz/regressions/<target>/`) goes through
//! the target's entry point (`mcp_runtime::fuzzing`), which must not panic. Real fuzzing, which
//! finds new inputs, is `scripts/fuzz` (nightly, cargo-fuzz).

use std::path::{Path, PathBuf};

use mcp_workspace::workspace_root;

/// A fuzz target's entry point.
type Entry = fn(&[u8]);

/// Every fuzz target and its entry point.
const TARGETS: &[(&str, Entry)] = &[
    ("jsonrpc", mcp_runtime::fuzzing::jsonrpc),
    ("uri_template", mcp_runtime::fuzzing::uri_template),
    ("text", mcp_runtime::fuzzing::text),
    ("sse", mcp_runtime::fuzzing::sse),
    ("http", mcp_runtime::fuzzing::http),
];

fn fuzz_dir() -> PathBuf {
    workspace_root().join("fuzz")
}

/// The files of `dir`, sorted; none when it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every input of `target`; says which failed.
fn replay(target: &str, entry: Entry) -> (usize, Vec<String>) {
    let mut files = inputs(&fuzz_dir().join("corpus").join(target));
    assert!(
        !files.is_empty(),
        "fuzz/corpus/{target}/ has no seed inputs: add a few typical ones"
    );
    files.extend(inputs(&fuzz_dir().join("regressions").join(target)));
    let mut failed = Vec::new();
    for file in &files {
        let data = std::fs::read(file).expect("reading a corpus file");
        if std::panic::catch_unwind(|| entry(&data)).is_err() {
            failed.push(file.display().to_string());
        }
    }
    (files.len(), failed)
}

/// Every target in `fuzz/fuzz_targets/` is replayed here, and nothing else is.
#[test]
fn every_fuzz_target_is_replayed() {
    let mut on_disk: Vec<String> = inputs(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .collect();
    on_disk.sort();
    let mut here: Vec<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    here.sort();
    assert_eq!(
        on_disk, here,
        "a fuzz target without its replay here (or the reverse): list it in TARGETS"
    );
}

#[test]
fn the_corpus_and_crash_regressions_replay_without_a_panic() {
    let mut report = Vec::new();
    let mut failed = Vec::new();
    for (target, entry) in TARGETS {
        let (count, bad) = replay(target, *entry);
        report.push(format!("{target}: {count}"));
        failed.extend(bad);
    }
    eprintln!("replayed {}", report.join(", "));
    assert!(failed.is_empty(), "inputs that panicked: {failed:#?}");
}
