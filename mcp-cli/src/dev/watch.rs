//! Notices changed sources by polling file modification times: a few hundred `stat` calls
//! every half second cost nothing next to a build, work the same on every platform and
//! filesystem (including network and container mounts where change events never come), and
//! need no dependency.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Path → (modification time, length) of every watched file.
pub(super) type Snapshot = BTreeMap<PathBuf, (Option<SystemTime>, u64)>;

/// Directories never looked into: build output, VCS data, dependencies, hidden directories.
fn skipped(name: &str) -> bool {
    name == "target" || name == "node_modules" || name.starts_with('.')
}

fn scan(dir: &Path, out: &mut Snapshot, depth: usize) {
    if depth > 12 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            if !skipped(&name) {
                scan(&entry.path(), out, depth + 1);
            }
        } else if let Ok(meta) = entry.metadata() {
            out.insert(entry.path(), (meta.modified().ok(), meta.len()));
        }
    }
}

/// The current state of every file under `dirs`.
pub(super) fn snapshot(dirs: &[PathBuf]) -> Snapshot {
    let mut out = Snapshot::new();
    for d in dirs {
        scan(d, &mut out, 0);
    }
    out
}

/// The first path that differs between two snapshots.
pub(super) fn changed(before: &Snapshot, after: &Snapshot) -> Option<PathBuf> {
    for (p, v) in after {
        if before.get(p) != Some(v) {
            return Some(p.clone());
        }
    }
    before.keys().find(|p| !after.contains_key(*p)).cloned()
}

/// Waits until a file under `dirs` changes, then until the changes settle (an editor's save is
/// often several writes); returns the first changed path.
pub(crate) async fn next_change(dirs: Vec<PathBuf>, interval: Duration) -> PathBuf {
    let scan_dirs = dirs.clone();
    let mut before = tokio::task::spawn_blocking(move || snapshot(&scan_dirs))
        .await
        .unwrap_or_default();
    loop {
        tokio::time::sleep(interval).await;
        let scan_dirs = dirs.clone();
        let after = tokio::task::spawn_blocking(move || snapshot(&scan_dirs))
            .await
            .unwrap_or_default();
        if let Some(path) = changed(&before, &after) {
            let mut settled = after;
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let scan_dirs = dirs.clone();
                let again = tokio::task::spawn_blocking(move || snapshot(&scan_dirs))
                    .await
                    .unwrap_or_default();
                if changed(&settled, &again).is_none() {
                    return path;
                }
                settled = again;
            }
        }
        before = after;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sees_edits_new_and_removed_files_but_not_build_output() {
        let dir = std::env::temp_dir().join(format!("mcp-cli-watch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::create_dir_all(dir.join("target")).unwrap();
        std::fs::write(dir.join("src/main.rs"), "fn main() {}").unwrap();
        let s0 = snapshot(std::slice::from_ref(&dir));
        assert_eq!(s0.len(), 1);

        std::fs::write(dir.join("target/out"), "x").unwrap();
        assert_eq!(changed(&s0, &snapshot(std::slice::from_ref(&dir))), None);

        let watcher = tokio::spawn(next_change(vec![dir.clone()], Duration::from_millis(50)));
        tokio::time::sleep(Duration::from_millis(120)).await;
        std::fs::write(dir.join("src/main.rs"), "fn main() { println!(); }").unwrap();
        let path = tokio::time::timeout(Duration::from_secs(5), watcher)
            .await
            .expect("the change is seen")
            .unwrap();
        assert_eq!(path, dir.join("src/main.rs"));

        let s1 = snapshot(std::slice::from_ref(&dir));
        std::fs::remove_file(dir.join("src/main.rs")).unwrap();
        assert_eq!(
            changed(&s1, &snapshot(std::slice::from_ref(&dir))),
            Some(dir.join("src/main.rs"))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
