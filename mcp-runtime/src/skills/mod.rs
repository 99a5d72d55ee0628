//! The skills extension (`io.modelcontextprotocol/skills`, SEP-2640): what a server and a
//! client share.
//!
//! A skill is a directory with a `SKILL.md` at its root (the [Agent Skills] format); the
//! server serves each of its files as a resource, `skill://<skill-path>/<file>`, and
//! describes each skill with a [`Skill`] entry: its URI (that of its `SKILL.md`), its
//! front matter as JSON, and a manifest of its files with their SHA-256 digests and sizes.
//! The final segment of `<skill-path>` is the skill's name.
//!
//! Serving skills: [`Server::skills_dir`](crate::Server::skills_dir) and
//! [`Server::skills_embedded`](crate::Server::skills_embedded). Reading them:
//! [`Client::list_skills`](crate::Client::list_skills) and friends.
//!
//! [Agent Skills]: https://agentskills.io/specification

pub mod frontmatter;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::protocol::JsonObject;

/// The extension's identifier, under `capabilities.extensions`.
pub const EXTENSION: &str = "io.modelcontextprotocol/skills";

/// The file every skill has at its root.
pub const SKILL_MD: &str = "SKILL.md";

/// The MIME type of a directory resource (`resources/directory/read`).
pub const DIRECTORY_MIME_TYPE: &str = "inode/directory";

/// The most files a skill may have, `SKILL.md` included (the extension's limit).
pub const MAX_FILES_PER_SKILL: usize = 512;

/// The most bytes a skill's files may add up to (the extension's limit: 16 MiB).
pub const MAX_SKILL_BYTES: u64 = 16 * 1024 * 1024;

/// The longest name the Agent Skills format allows.
pub const MAX_NAME_LEN: usize = 64;

/// The longest description the Agent Skills format allows.
pub const MAX_DESCRIPTION_LEN: usize = 1024;

/// The longest `compatibility` field the Agent Skills format allows.
pub const MAX_COMPATIBILITY_LEN: usize = 500;

/// The prefix of front matter `metadata` keys reserved for MCP extensions.
pub const RESERVED_METADATA_PREFIX: &str = "io.modelcontextprotocol/";

/// One skill as `skills/list` and `skills/get` describe it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Skill {
    /// The URI of the skill's `SKILL.md`.
    pub uri: String,
    /// The `SKILL.md` front matter, as JSON.
    pub frontmatter: JsonObject,
    /// The skill's files, or `"dynamic"` when the server publishes no manifest.
    pub resources: SkillResources,
}

impl Skill {
    /// The skill's name: the final segment of its skill path.
    pub fn name(&self) -> Option<&str> {
        name_of(&self.uri)
    }

    /// The manifest entry of `uri`, if the skill has a manifest and lists it.
    pub fn file(&self, uri: &str) -> Option<&SkillResource> {
        match &self.resources {
            SkillResources::Files(files) => files.iter().find(|f| f.uri == uri),
            SkillResources::Dynamic(_) => None,
        }
    }
}

/// A skill's files: a complete manifest, or none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SkillResources {
    /// Every file of the skill, `SKILL.md` included, each once.
    Files(Vec<SkillResource>),
    /// The string `"dynamic"`: the server publishes no manifest.
    Dynamic(Dynamic),
}

/// The `"dynamic"` marker of [`SkillResources::Dynamic`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Dynamic {
    /// `"dynamic"`.
    #[serde(rename = "dynamic")]
    Dynamic,
}

/// One file of a skill's manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillResource {
    /// The file's resource URI.
    pub uri: String,
    /// `sha256:` and the 64 lowercase hex digits of the SHA-256 of its bytes.
    pub digest: String,
    /// Its length in bytes.
    pub size: u64,
}

/// `sha256:<hex>` of `bytes`.
pub fn digest(bytes: &[u8]) -> String {
    use sha2::Digest;
    use std::fmt::Write;
    let hash = sha2::Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in hash {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The skill name of a `…/<name>/SKILL.md` URI.
pub fn name_of(uri: &str) -> Option<&str> {
    let path = uri.split_once("://")?.1;
    let dir = path.strip_suffix(SKILL_MD)?.strip_suffix('/')?;
    let name = dir.rsplit('/').next()?;
    (!name.is_empty()).then_some(name)
}

/// Whether `name` follows the Agent Skills naming rules: 1 to 64 characters, lowercase
/// letters, digits and hyphens, no leading, trailing or consecutive hyphens.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// Parses the front matter of a `SKILL.md` into JSON.
pub fn parse_frontmatter(text: &str) -> Result<JsonObject, String> {
    let block = frontmatter::split(text).ok_or(
        "SKILL.md must begin with YAML front matter: a `---` line, `name:` and `description:`, and a closing `---` line",
    )?;
    frontmatter::parse(block).map_err(|e| format!("its front matter, {e}"))
}

/// Checks front matter against the Agent Skills format and the extension: `name` and
/// `description` present and valid, `name` equal to `dir_name` (the final segment of the
/// skill's path), the optional fields of the right type, no reserved `metadata` keys.
pub fn check_frontmatter(fm: &JsonObject, dir_name: &str) -> Result<(), String> {
    let name = match fm.get("name") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err("the front matter `name` must be a string".into()),
        None => return Err("the front matter has no `name` (add `name: <skill-name>`)".into()),
    };
    if !valid_name(name) {
        return Err(format!(
            "the name `{name}` breaks the Agent Skills naming rules: 1-64 characters, lowercase letters, digits and hyphens, no leading, trailing or doubled hyphen"
        ));
    }
    if name != dir_name {
        return Err(format!(
            "the name `{name}` must equal the skill's directory name `{dir_name}` (rename one of them)"
        ));
    }
    match fm.get("description") {
        Some(Value::String(s)) if !s.trim().is_empty() => {
            if s.chars().count() > MAX_DESCRIPTION_LEN {
                return Err(format!(
                    "the description has {} characters; the Agent Skills format allows {MAX_DESCRIPTION_LEN}",
                    s.chars().count()
                ));
            }
        }
        Some(Value::String(_)) | None => {
            return Err(
                "the front matter has no `description` (add one: what the skill does and when to use it)"
                    .into(),
            );
        }
        Some(_) => return Err("the front matter `description` must be a string".into()),
    }
    for field in ["license", "allowed-tools"] {
        if let Some(v) = fm.get(field)
            && !v.is_string()
        {
            return Err(format!("the front matter `{field}` must be a string"));
        }
    }
    match fm.get("compatibility") {
        Some(Value::String(s)) if s.chars().count() > MAX_COMPATIBILITY_LEN => {
            return Err(format!(
                "the `compatibility` field has {} characters; the Agent Skills format allows {MAX_COMPATIBILITY_LEN}",
                s.chars().count()
            ));
        }
        Some(Value::String(_)) | None => {}
        Some(_) => return Err("the front matter `compatibility` must be a string".into()),
    }
    match fm.get("metadata") {
        None => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                if k.starts_with(RESERVED_METADATA_PREFIX) {
                    return Err(format!(
                        "the metadata key `{k}` uses the prefix `{RESERVED_METADATA_PREFIX}`, which is reserved for MCP extensions"
                    ));
                }
                if !v.is_string() {
                    return Err(format!(
                        "the metadata value of `{k}` must be a string (quote it)"
                    ));
                }
            }
        }
        Some(_) => {
            return Err("the front matter `metadata` must be a mapping of strings".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn digests_are_sha256_in_lowercase_hex() {
        assert_eq!(
            digest(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn names_follow_the_agent_skills_rules() {
        for ok in ["a", "pdf-processing", "x1", &"a".repeat(64)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "a--b", "PDF", "a_b", "a.b", &"a".repeat(65)] {
            assert!(!valid_name(bad), "{bad}");
        }
        assert_eq!(name_of("skill://pdf/SKILL.md"), Some("pdf"));
        assert_eq!(name_of("skill://team/pdf/SKILL.md"), Some("pdf"));
        assert_eq!(name_of("skill://pdf/README.md"), None);
    }

    #[test]
    fn front_matter_is_checked_with_messages_that_name_the_fix() {
        let fm = |v: Value| v.as_object().unwrap().clone();
        let good = fm(json!({"name": "pdf", "description": "Reads PDFs."}));
        assert!(check_frontmatter(&good, "pdf").is_ok());
        let e = check_frontmatter(&good, "pdfs").unwrap_err();
        assert!(
            e.contains("must equal the skill's directory name `pdfs`"),
            "{e}"
        );
        let e = check_frontmatter(&fm(json!({"name": "pdf"})), "pdf").unwrap_err();
        assert!(e.contains("no `description`"), "{e}");
        let e =
            check_frontmatter(&fm(json!({"name": "Pdf", "description": "d"})), "Pdf").unwrap_err();
        assert!(e.contains("naming rules"), "{e}");
        let e = check_frontmatter(
            &fm(json!({"name": "pdf", "description": "d", "metadata": {"io.modelcontextprotocol/x": "1"}})),
            "pdf",
        )
        .unwrap_err();
        assert!(e.contains("reserved"), "{e}");
        let e = check_frontmatter(
            &fm(json!({"name": "pdf", "description": "d", "metadata": {"v": 1}})),
            "pdf",
        )
        .unwrap_err();
        assert!(e.contains("quote it"), "{e}");
    }

    #[test]
    fn entries_read_both_forms_of_resources() {
        let s: Skill = serde_json::from_value(json!({
            "uri": "skill://a/SKILL.md", "frontmatter": {"name": "a"}, "resources": "dynamic"
        }))
        .unwrap();
        assert_eq!(s.resources, SkillResources::Dynamic(Dynamic::Dynamic));
        let s: Skill = serde_json::from_value(json!({
            "uri": "skill://a/SKILL.md", "frontmatter": {"name": "a"},
            "resources": [{"uri": "skill://a/SKILL.md", "digest": "sha256:00", "size": 3}]
        }))
        .unwrap();
        assert_eq!(s.file("skill://a/SKILL.md").unwrap().size, 3);
        assert_eq!(s.name(), Some("a"));
    }
}
