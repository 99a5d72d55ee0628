//! Client calls of the skills extension (SEP-2640): listing skills, and reading their files
//! only when asked, each checked against the skill's entry before it is returned.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Client, ClientError};
use crate::protocol::{JsonObject, Resource, ResourceContents};
use crate::skills::{self, Skill, SkillResources};

/// The most pages [`Client::list_skills`] and [`Client::read_directory`] follow.
const MAX_PAGES: usize = 1000;

/// One page of `skills/list`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListSkillsResult {
    /// The skills of the page.
    pub skills: Vec<Skill>,
    /// Where the next page starts, if there is one.
    #[serde(default)]
    pub next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct GetSkillResult {
    skill: Skill,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DirectoryPage {
    resources: Vec<Resource>,
    #[serde(default)]
    next_cursor: Option<String>,
}

/// A skill whose `SKILL.md` was read and verified: its size and digest match the entry's
/// manifest, and its front matter is the entry's.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LoadedSkill {
    /// The entry it was checked against.
    pub skill: Skill,
    /// The whole `SKILL.md`.
    pub text: String,
    /// Its front matter, as parsed from the file.
    pub frontmatter: JsonObject,
}

fn verification(uri: &str, reason: impl Into<String>) -> ClientError {
    ClientError::SkillVerification {
        uri: uri.to_string(),
        reason: reason.into(),
    }
}

impl Client {
    /// Whether the server declares the skills extension.
    pub fn serves_skills(&self) -> bool {
        self.server_capabilities()
            .get("extensions")
            .and_then(Value::as_object)
            .is_some_and(|e| e.contains_key(skills::EXTENSION))
    }

    /// One page of `skills/list`.
    pub async fn list_skills_page(
        &self,
        cursor: Option<&str>,
    ) -> Result<ListSkillsResult, ClientError> {
        let params = match cursor {
            Some(c) => json!({ "cursor": c }),
            None => json!({}),
        };
        self.request("skills/list", &params).await
    }

    /// Every skill the server lists, following cursors (at most 1000 pages; a cursor the
    /// server repeats is an error). Reads no skill file.
    pub async fn list_skills(&self) -> Result<Vec<Skill>, ClientError> {
        let mut all = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = self.list_skills_page(cursor.as_deref()).await?;
            all.extend(page.skills);
            match page.next_cursor {
                Some(c) if !c.is_empty() => {
                    if !seen.insert(c.clone()) {
                        return Err(ClientError::Protocol(format!(
                            "skills/list repeated the cursor {c:?}"
                        )));
                    }
                    cursor = Some(c);
                }
                _ => return Ok(all),
            }
        }
        Err(ClientError::Protocol(format!(
            "skills/list did not end within {MAX_PAGES} pages"
        )))
    }

    /// The entry of one skill, by the URI of its `SKILL.md` (`skills/get`). Reads no file.
    pub async fn get_skill(&self, uri: &str) -> Result<Skill, ClientError> {
        let r: GetSkillResult = self.request("skills/get", &json!({ "uri": uri })).await?;
        Ok(r.skill)
    }

    /// Reads the skill file `uri` and checks it against `skill`'s manifest: first its size,
    /// then its SHA-256 digest. A file the manifest does not list is refused; a skill with
    /// `"resources": "dynamic"` has no manifest, so its files are returned as read.
    pub async fn read_skill_file(&self, skill: &Skill, uri: &str) -> Result<Vec<u8>, ClientError> {
        let expected = match &skill.resources {
            SkillResources::Files(files) => Some(
                files
                    .iter()
                    .find(|f| f.uri == uri)
                    .ok_or_else(|| {
                        verification(
                            uri,
                            format!("the manifest of `{}` does not list it", skill.uri),
                        )
                    })?
                    .clone(),
            ),
            SkillResources::Dynamic(_) => None,
        };
        let contents = self.read_resource(uri).await?;
        let bytes = match contents.into_iter().next() {
            Some(ResourceContents::Text { text, .. }) => text.into_bytes(),
            Some(ResourceContents::Blob { blob, .. }) => crate::protocol::base64::decode(&blob)
                .map_err(|e| verification(uri, format!("its blob is not base64: {e}")))?,
            None => return Err(verification(uri, "the read returned no contents")),
        };
        if let Some(entry) = expected {
            if bytes.len() as u64 != entry.size {
                return Err(verification(
                    uri,
                    format!(
                        "{} bytes read, the manifest says {}",
                        bytes.len(),
                        entry.size
                    ),
                ));
            }
            let digest = skills::digest(&bytes);
            if digest != entry.digest {
                return Err(verification(
                    uri,
                    format!("its digest is {digest}, the manifest says {}", entry.digest),
                ));
            }
        }
        Ok(bytes)
    }

    /// Loads a skill: reads its `SKILL.md` (and nothing else), verifies it
    /// ([`Client::read_skill_file`]), parses its front matter and compares it field by
    /// field with the entry's. Read the skill's other files with `read_skill_file` when they
    /// are needed.
    pub async fn load_skill(&self, skill: &Skill) -> Result<LoadedSkill, ClientError> {
        let bytes = self.read_skill_file(skill, &skill.uri).await?;
        let text = String::from_utf8(bytes)
            .map_err(|_| verification(&skill.uri, "SKILL.md is not UTF-8 text"))?;
        let frontmatter =
            skills::parse_frontmatter(&text).map_err(|e| verification(&skill.uri, e))?;
        let mut keys: Vec<&String> = frontmatter.keys().chain(skill.frontmatter.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let (file, entry) = (frontmatter.get(key), skill.frontmatter.get(key));
            if file.unwrap_or(&Value::Null) != entry.unwrap_or(&Value::Null) {
                return Err(verification(
                    &skill.uri,
                    format!(
                        "its front matter `{key}` is {} in the file but {} in the entry",
                        file.map_or("absent".into(), Value::to_string),
                        entry.map_or("absent".into(), Value::to_string),
                    ),
                ));
            }
        }
        Ok(LoadedSkill {
            skill: skill.clone(),
            text,
            frontmatter,
        })
    }

    /// The direct children of a directory resource (`resources/directory/read`), every
    /// page; subdirectories have the MIME type `inode/directory`.
    pub async fn read_directory(&self, uri: &str) -> Result<Vec<Resource>, ClientError> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = match &cursor {
                Some(c) => json!({ "uri": uri, "cursor": c }),
                None => json!({ "uri": uri }),
            };
            let page: DirectoryPage = self.request("resources/directory/read", &params).await?;
            all.extend(page.resources);
            match page.next_cursor {
                Some(c) if !c.is_empty() && Some(&c) != cursor.as_ref() => cursor = Some(c),
                _ => return Ok(all),
            }
        }
        Err(ClientError::Protocol(format!(
            "resources/directory/read did not end within {MAX_PAGES} pages"
        )))
    }
}
