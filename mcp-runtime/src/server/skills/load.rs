//! Reading a skills tree: from a directory on disk, or from files embedded in the binary.
//!
//! Both give the same thing: every file of the tree by its path relative to the root
//! (`/`-separated), with its bytes. A directory walk refuses symbolic links (a link could
//! point outside the tree) and anything that is not a regular file or a directory, skips
//! hidden entries (`.git`, `.DS_Store`), and stops at the limits before reading more.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::skills::MAX_SKILL_BYTES;

/// One file of an embedded skills tree, as [`include_skills!`](crate::include_skills)
/// emits it.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedFile {
    /// Its path below the tree's root, `/`-separated (`pdf-processing/SKILL.md`).
    pub path: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

/// Where skills come from.
#[derive(Debug, Clone)]
pub(crate) enum SkillSource {
    Dir(PathBuf),
    Embedded(&'static [EmbeddedFile]),
}

/// How deep a skills tree may go, and how many files it may hold in all: bounds on a walk
/// of a directory given by configuration.
pub(crate) const MAX_DEPTH: usize = 32;
pub(crate) const MAX_TREE_FILES: usize = 100_000;
/// The most bytes one tree may hold in memory (every skill within its own 16 MiB).
pub(crate) const MAX_TREE_BYTES: u64 = 1024 * 1024 * 1024;

/// The files of a tree: (relative path, bytes), in no particular order.
pub(crate) type Tree = Vec<(String, Bytes)>;

impl SkillSource {
    pub(crate) fn read(&self) -> Result<Tree, String> {
        match self {
            SkillSource::Dir(root) => read_dir(root),
            SkillSource::Embedded(files) => files
                .iter()
                .map(|f| {
                    check_relative(f.path)?;
                    Ok((f.path.to_string(), Bytes::from_static(f.bytes)))
                })
                .filter(|r| !matches!(r, Ok((p, _)) if hidden(p)))
                .collect(),
        }
    }

    /// What to call the source in messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            SkillSource::Dir(root) => format!("the skills directory `{}`", root.display()),
            SkillSource::Embedded(_) => "the embedded skills".into(),
        }
    }
}

fn hidden(path: &str) -> bool {
    path.split('/').any(|s| s.starts_with('.'))
}

/// An embedded path must stay inside its tree.
fn check_relative(path: &str) -> Result<(), String> {
    if path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains('\0')
        || path
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(format!(
            "the embedded path `{}` is not a plain relative path (no `..`, `.`, empty segments, leading `/` or `\\`)",
            path.escape_debug()
        ));
    }
    Ok(())
}

/// Walks `root` without following links; reads every regular file.
fn read_dir(root: &Path) -> Result<Tree, String> {
    let meta = std::fs::symlink_metadata(root)
        .map_err(|e| format!("cannot read `{}`: {e}", root.display()))?;
    if !meta.is_dir() {
        return Err(format!(
            "`{}` is not a directory (give the directory that holds one directory per skill)",
            root.display()
        ));
    }
    let mut tree = Vec::new();
    let mut total = 0u64;
    let mut stack = vec![(root.to_path_buf(), String::new(), 0usize)];
    while let Some((dir, rel, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(format!(
                "`{}` is nested more than {MAX_DEPTH} directories deep",
                dir.display()
            ));
        }
        let entries =
            std::fs::read_dir(&dir).map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read `{}`: {e}", dir.display()))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                return Err(format!(
                    "`{}` has a name that is not UTF-8; skill files need names a URI can carry",
                    entry.path().display()
                ));
            };
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            let rel = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            // `file_type` does not follow links.
            let kind = entry
                .file_type()
                .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
            if kind.is_symlink() {
                return Err(format!(
                    "`{}` is a symbolic link; skills are served from regular files inside the tree only (copy the file in instead)",
                    path.display()
                ));
            }
            if kind.is_dir() {
                stack.push((path, rel, depth + 1));
            } else if kind.is_file() {
                if tree.len() >= MAX_TREE_FILES {
                    return Err(format!(
                        "{} holds more than {MAX_TREE_FILES} files",
                        root.display()
                    ));
                }
                let len = entry
                    .metadata()
                    .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?
                    .len();
                if len > MAX_SKILL_BYTES {
                    return Err(format!(
                        "`{}` has {len} bytes; a skill may hold at most {MAX_SKILL_BYTES} bytes in all",
                        path.display()
                    ));
                }
                total += len;
                if total > MAX_TREE_BYTES {
                    return Err(format!(
                        "`{}` holds more than {MAX_TREE_BYTES} bytes of skills",
                        root.display()
                    ));
                }
                let bytes = read_file(&path, len)?;
                tree.push((rel, Bytes::from(bytes)));
            } else {
                return Err(format!(
                    "`{}` is neither a regular file nor a directory",
                    path.display()
                ));
            }
        }
    }
    Ok(tree)
}

/// Reads at most `limit` bytes (a file that grows while it is read is cut there, and then
/// found changed by the next check).
fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let mut bytes = Vec::with_capacity(limit as usize);
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    Ok(bytes)
}

/// A cheap summary of a directory tree (paths, sizes, modification times) to tell whether
/// it changed since the last look, without reading the files. `None` when the walk fails
/// (the next full load reports why).
pub(crate) fn fingerprint(root: &Path) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    let mut seen = 0usize;
    while let Some((dir, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .ok()?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            seen += 1;
            if seen > MAX_TREE_FILES * 2 {
                return None;
            }
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let meta = std::fs::symlink_metadata(entry.path()).ok()?;
            entry.path().hash(&mut h);
            meta.len().hash(&mut h);
            meta.file_type().is_symlink().hash(&mut h);
            if let Ok(t) = meta.modified() {
                t.hash(&mut h);
            }
            if meta.is_dir() {
                stack.push((entry.path(), depth + 1));
            }
        }
    }
    Some(h.finish())
}
