//! Serving skills (the `io.modelcontextprotocol/skills` extension, SEP-2640).
//!
//! A server given a skills tree ([`Server::skills_dir`](crate::Server::skills_dir),
//! [`Server::skills_embedded`](crate::Server::skills_embedded)) loads it whole when it is
//! built: every directory with a `SKILL.md` is a skill, its path below the root is its skill
//! path (`team/pdf-processing`), and the final segment must be the name its front matter
//! gives. Each file is served as `skill://<skill-path>/<file>`, kept in memory with its
//! SHA-256 digest so that what `resources/read` returns is always what the manifest of
//! `skills/list` describes. A tree that breaks a rule (a bad name, a symbolic link, more
//! than 512 files or 16 MiB in a skill) fails the build with a message naming the file and
//! the fix; a reload that fails (the opt-in watch) keeps serving the last good tree.
//!
//! The methods: `skills/list` (paginated by [`Server::page_size`](crate::Server::page_size),
//! whole entries per page), `skills/get`, `resources/directory/read` (direct children of a
//! skill directory, subdirectories as `inode/directory`), and the skill files in
//! `resources/read`; `resources/list` lists each skill's `SKILL.md`.

pub(crate) mod load;
pub(crate) mod methods;
pub(crate) mod watch;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::protocol::Resource;
use crate::skills::{
    self, DIRECTORY_MIME_TYPE, MAX_FILES_PER_SKILL, MAX_SKILL_BYTES, SKILL_MD, Skill,
    SkillResource, SkillResources,
};
pub use load::EmbeddedFile;
pub(crate) use load::SkillSource;

/// How a server serves skills: where they come from, and whether it watches for changes.
#[derive(Debug, Clone, Default)]
pub(crate) struct SkillsConfig {
    pub(crate) sources: Vec<SkillSource>,
    pub(crate) watch: Option<std::time::Duration>,
}

/// The skills a running server serves: the current set, replaced whole on reload.
pub(crate) struct Skills {
    config: SkillsConfig,
    current: RwLock<Arc<SkillSet>>,
}

impl Skills {
    /// Loads every source; fails with the first problem found.
    pub(crate) fn load(config: SkillsConfig) -> Result<Skills, String> {
        let set = SkillSet::load(&config.sources)?;
        Ok(Skills {
            config,
            current: RwLock::new(Arc::new(set)),
        })
    }

    pub(crate) fn current(&self) -> Arc<SkillSet> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Loads the sources again; replaces the set when that works and it differs. Whether
    /// it changed.
    pub(crate) fn reload(&self) -> Result<bool, String> {
        let set = SkillSet::load(&self.config.sources)?;
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        if current.digest == set.digest {
            return Ok(false);
        }
        *current = Arc::new(set);
        Ok(true)
    }
}

/// One file of a skill.
pub(crate) struct SkillFile {
    pub(crate) uri: String,
    pub(crate) mime_type: &'static str,
    pub(crate) bytes: Bytes,
}

/// One skill, with its entry serialized once.
pub(crate) struct LoadedSkill {
    pub(crate) uri: String,
    /// The `skills/list` / `skills/get` entry.
    pub(crate) entry: Box<RawValue>,
    /// The `resources/list` item of its `SKILL.md`.
    pub(crate) listing: Box<RawValue>,
}

/// A child of a directory resource, serialized once.
pub(crate) struct DirChild(pub(crate) Box<RawValue>);

/// Every skill of a server at one moment.
pub(crate) struct SkillSet {
    /// In URI order.
    pub(crate) skills: Vec<LoadedSkill>,
    by_uri: HashMap<String, usize>,
    files: HashMap<String, SkillFile>,
    /// Directory URI → its children, files and subdirectories by URI.
    dirs: HashMap<String, Vec<DirChild>>,
    /// The digest of every entry, to tell a reload that changed something.
    digest: String,
}

impl std::fmt::Debug for SkillSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkillSet")
            .field(
                "skills",
                &self.skills.iter().map(|s| &s.uri).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl SkillSet {
    pub(crate) fn skill(&self, uri: &str) -> Option<&LoadedSkill> {
        self.by_uri.get(uri).map(|&i| &self.skills[i])
    }

    pub(crate) fn file(&self, uri: &str) -> Option<&SkillFile> {
        self.files.get(uri)
    }

    pub(crate) fn directory(&self, uri: &str) -> Option<&[DirChild]> {
        self.dirs.get(uri).map(Vec::as_slice)
    }

    fn load(sources: &[SkillSource]) -> Result<SkillSet, String> {
        let mut set = SkillSet {
            skills: Vec::new(),
            by_uri: HashMap::new(),
            files: HashMap::new(),
            dirs: HashMap::new(),
            digest: String::new(),
        };
        let mut skills = Vec::new();
        for source in sources {
            let tree = source.read()?;
            build(&tree, &mut skills, &mut set.files, &mut set.dirs)
                .map_err(|e| format!("{}: {e}", source.describe()))?;
        }
        skills.sort_by(|a: &LoadedSkill, b| a.uri.cmp(&b.uri));
        let mut all = String::new();
        for (i, s) in skills.iter().enumerate() {
            all.push_str(s.entry.get());
            set.by_uri.insert(s.uri.clone(), i);
        }
        set.digest = skills::digest(all.as_bytes());
        set.skills = skills;
        Ok(set)
    }
}

/// Characters a URI path segment carries as they are (RFC 3986 unreserved and a few
/// sub-delims); the rest is percent-encoded.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'=' | b',' | b'@')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn encode_path(p: &str) -> String {
    p.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

/// The MIME type of a skill file, by its extension; text that is not known is `text/plain`.
fn mime_type(path: &str, bytes: &[u8]) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("md" | "markdown") => "text/markdown",
        Some("txt") => "text/plain",
        Some("json") => "application/json",
        Some("yaml" | "yml") => "application/yaml",
        Some("toml") => "application/toml",
        Some("csv") => "text/csv",
        Some("html" | "htm") => "text/html",
        Some("xml") => "application/xml",
        Some("js" | "mjs") => "text/javascript",
        Some("ts") => "text/x-typescript",
        Some("py") => "text/x-python",
        Some("sh") => "application/x-sh",
        Some("rs") => "text/x-rust",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("svg") => "image/svg+xml",
        Some("pdf") => "application/pdf",
        Some("zip") => "application/zip",
        _ if std::str::from_utf8(bytes).is_ok() => "text/plain",
        _ => "application/octet-stream",
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Child<'a> {
    uri: &'a str,
    name: &'a str,
    mime_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
}

fn raw<T: Serialize>(value: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).expect("a skill entry serializes")
}

/// Finds the skills of one tree and adds them.
fn build(
    tree: &[(String, Bytes)],
    skills: &mut Vec<LoadedSkill>,
    files: &mut HashMap<String, SkillFile>,
    dirs: &mut HashMap<String, Vec<DirChild>>,
) -> Result<(), String> {
    // Skill roots: the directories of the `SKILL.md` files.
    let mut roots: Vec<&str> = Vec::new();
    for (path, _) in tree {
        if path == SKILL_MD {
            return Err(format!(
                "a {SKILL_MD} at the root of the tree: put each skill in a directory named after it (`<name>/{SKILL_MD}`)"
            ));
        }
        if let Some(dir) = path
            .strip_suffix(SKILL_MD)
            .and_then(|d| d.strip_suffix('/'))
        {
            roots.push(dir);
        }
    }
    roots.sort_unstable();
    for pair in roots.windows(2) {
        if pair[1].starts_with(pair[0]) && pair[1].as_bytes().get(pair[0].len()) == Some(&b'/') {
            return Err(format!(
                "the skill `{}` lies inside the skill `{}`; skills may not nest",
                pair[1], pair[0]
            ));
        }
    }
    // Each file to the skill whose directory holds it; files outside every skill are not
    // served.
    let mut by_root: BTreeMap<&str, Vec<(&str, &Bytes)>> = BTreeMap::new();
    for (path, bytes) in tree {
        let root = roots
            .iter()
            .rev()
            .find(|r| path.starts_with(**r) && path.as_bytes().get(r.len()) == Some(&b'/'));
        if let Some(root) = root {
            by_root
                .entry(root)
                .or_default()
                .push((&path[root.len() + 1..], bytes));
        }
    }
    for (root, mut members) in by_root {
        members.sort_by(|a, b| a.0.cmp(b.0));
        skills.push(build_skill(root, &members, files, dirs)?);
    }
    Ok(())
}

fn build_skill(
    root: &str,
    members: &[(&str, &Bytes)],
    files: &mut HashMap<String, SkillFile>,
    dirs: &mut HashMap<String, Vec<DirChild>>,
) -> Result<LoadedSkill, String> {
    let dir_name = root.rsplit('/').next().unwrap_or(root);
    for segment in root.split('/') {
        if encode_segment(segment) != segment {
            return Err(format!(
                "the skill path `{root}` has the segment `{segment}`, which a URI cannot carry as it is: use letters, digits, `-`, `.`, `_` and `~`"
            ));
        }
    }
    if members.len() > MAX_FILES_PER_SKILL {
        return Err(format!(
            "the skill `{root}` has {} files; a skill may have at most {MAX_FILES_PER_SKILL}, {SKILL_MD} included",
            members.len()
        ));
    }
    let total: u64 = members.iter().map(|(_, b)| b.len() as u64).sum();
    if total > MAX_SKILL_BYTES {
        return Err(format!(
            "the skill `{root}` holds {total} bytes; a skill may hold at most {MAX_SKILL_BYTES} (16 MiB)"
        ));
    }
    let skill_md = members
        .iter()
        .find(|(p, _)| *p == SKILL_MD)
        .map(|(_, b)| *b)
        .expect("a skill root has its SKILL.md");
    let text = std::str::from_utf8(skill_md)
        .map_err(|_| format!("`{root}/{SKILL_MD}` is not UTF-8 text"))?;
    let frontmatter = skills::parse_frontmatter(text)
        .and_then(|fm| skills::check_frontmatter(&fm, dir_name).map(|()| fm))
        .map_err(|e| format!("`{root}/{SKILL_MD}`: {e}"))?;

    let base = format!("skill://{root}");
    let uri = format!("{base}/{SKILL_MD}");
    let mut manifest = Vec::with_capacity(members.len());
    // SKILL.md first, then the other files in path order.
    let ordered = std::iter::once((SKILL_MD, skill_md)).chain(
        members
            .iter()
            .filter(|(p, _)| *p != SKILL_MD)
            .map(|(p, b)| (*p, *b)),
    );
    let mut children: BTreeMap<String, BTreeMap<String, Box<RawValue>>> = BTreeMap::new();
    children.entry(base.clone()).or_default();
    for (path, bytes) in ordered {
        let file_uri = format!("{base}/{}", encode_path(path));
        let mime = mime_type(path, bytes);
        manifest.push(SkillResource {
            uri: file_uri.clone(),
            digest: skills::digest(bytes),
            size: bytes.len() as u64,
        });
        // Every directory on the way down lists the next step.
        let segments: Vec<&str> = path.split('/').collect();
        let mut dir = base.clone();
        for (i, segment) in segments.iter().enumerate() {
            let child_uri = format!("{dir}/{}", encode_segment(segment));
            let last = i + 1 == segments.len();
            let child = if last {
                raw(&Child {
                    uri: &child_uri,
                    name: segment,
                    mime_type: mime,
                    size: Some(bytes.len() as u64),
                })
            } else {
                raw(&Child {
                    uri: &child_uri,
                    name: segment,
                    mime_type: DIRECTORY_MIME_TYPE,
                    size: None,
                })
            };
            children
                .entry(dir.clone())
                .or_default()
                .entry(child_uri.clone())
                .or_insert(child);
            if !last {
                children.entry(child_uri.clone()).or_default();
            }
            dir = child_uri;
        }
        files.insert(
            file_uri.clone(),
            SkillFile {
                uri: file_uri,
                mime_type: mime,
                bytes: bytes.clone(),
            },
        );
    }
    for (dir, kids) in children {
        dirs.insert(dir, kids.into_values().map(DirChild).collect());
    }
    let description = frontmatter
        .get("description")
        .and_then(|d| d.as_str())
        .map(str::to_string);
    let listing = raw(&Resource {
        uri: uri.clone(),
        name: dir_name.to_string(),
        title: None,
        description,
        mime_type: Some("text/markdown".into()),
        size: Some(skill_md.len() as u64),
        annotations: None,
        icons: None,
        meta: None,
    });
    let entry = raw(&Skill {
        uri: uri.clone(),
        frontmatter,
        resources: SkillResources::Files(manifest),
    });
    Ok(LoadedSkill {
        uri,
        entry,
        listing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn tree(files: &[(&str, &str)]) -> Vec<(String, Bytes)> {
        files
            .iter()
            .map(|(p, b)| (p.to_string(), Bytes::copy_from_slice(b.as_bytes())))
            .collect()
    }

    fn set(files: &[(&str, &str)]) -> Result<SkillSet, String> {
        let mut s = SkillSet {
            skills: Vec::new(),
            by_uri: HashMap::new(),
            files: HashMap::new(),
            dirs: HashMap::new(),
            digest: String::new(),
        };
        let mut skills = Vec::new();
        build(&tree(files), &mut skills, &mut s.files, &mut s.dirs)?;
        for (i, k) in skills.iter().enumerate() {
            s.by_uri.insert(k.uri.clone(), i);
        }
        s.skills = skills;
        Ok(s)
    }

    const PDF: &str = "---\nname: pdf\ndescription: Reads PDFs.\n---\n# PDF\n";

    #[test]
    fn a_tree_becomes_entries_files_and_directories() {
        let s = set(&[
            ("pdf/SKILL.md", PDF),
            ("pdf/references/FORMS.md", "forms"),
            ("README.md", "not served"),
        ])
        .unwrap();
        let entry: Value = serde_json::from_str(s.skills[0].entry.get()).unwrap();
        assert_eq!(
            entry,
            json!({
                "uri": "skill://pdf/SKILL.md",
                "frontmatter": {"name": "pdf", "description": "Reads PDFs."},
                "resources": [
                    {"uri": "skill://pdf/SKILL.md", "digest": skills::digest(PDF.as_bytes()), "size": PDF.len()},
                    {"uri": "skill://pdf/references/FORMS.md", "digest": skills::digest(b"forms"), "size": 5},
                ]
            })
        );
        assert_eq!(
            &s.file("skill://pdf/references/FORMS.md").unwrap().bytes[..],
            b"forms"
        );
        assert!(s.file("skill://README.md").is_none());
        let top: Vec<Value> = s
            .directory("skill://pdf")
            .unwrap()
            .iter()
            .map(|c| serde_json::from_str(c.0.get()).unwrap())
            .collect();
        assert_eq!(
            top,
            vec![
                json!({"uri": "skill://pdf/SKILL.md", "name": "SKILL.md", "mimeType": "text/markdown", "size": PDF.len()}),
                json!({"uri": "skill://pdf/references", "name": "references", "mimeType": "inode/directory"}),
            ]
        );
        assert_eq!(s.directory("skill://pdf/references").unwrap().len(), 1);
        assert!(s.directory("skill://pdf/SKILL.md").is_none());
    }

    #[test]
    fn nested_paths_keep_their_prefix_and_odd_names_are_encoded() {
        let s = set(&[("team/pdf/SKILL.md", PDF), ("team/pdf/a b#.txt", "x")]).unwrap();
        assert_eq!(s.skills[0].uri, "skill://team/pdf/SKILL.md");
        assert!(s.file("skill://team/pdf/a%20b%23.txt").is_some());
    }

    #[test]
    fn broken_trees_are_refused_with_the_file_and_the_fix() {
        let e = set(&[("pdfs/SKILL.md", PDF)]).unwrap_err();
        assert!(
            e.contains("`pdfs/SKILL.md`") && e.contains("must equal"),
            "{e}"
        );
        let e = set(&[("SKILL.md", PDF)]).unwrap_err();
        assert!(e.contains("directory named after it"), "{e}");
        let e = set(&[("pdf/SKILL.md", PDF), ("pdf/sub/x/SKILL.md", PDF)]).unwrap_err();
        assert!(e.contains("may not nest"), "{e}");
        let e = set(&[("pdf/SKILL.md", "# no front matter")]).unwrap_err();
        assert!(e.contains("must begin with YAML front matter"), "{e}");
        let e = set(&[("a b/pdf/SKILL.md", PDF)]).unwrap_err();
        assert!(e.contains("URI cannot carry"), "{e}");
        let many: Vec<(String, String)> = (0..MAX_FILES_PER_SKILL)
            .map(|i| (format!("pdf/f{i}.txt"), String::new()))
            .collect();
        let mut files: Vec<(&str, &str)> =
            many.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        files.push(("pdf/SKILL.md", PDF));
        let e = set(&files).unwrap_err();
        assert!(e.contains("at most 512"), "{e}");
    }
}
